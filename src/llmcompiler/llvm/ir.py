"""A Python view of a parsed module's IR: functions, blocks, instructions and values.

Walks functions, blocks, instructions, operands and uses through the LLVM C
API; reads opcodes, integer types and widths, constants, phi incoming edges,
branch successors and ``nsw``/``nuw`` flags; sets those flags, replaces all uses
and erases instructions. New instructions are built with
:class:`llmcompiler.llvm.builder.Builder`. The C prototypes are declared in
:mod:`llmcompiler.llvm._ffi`.

Values are light wrappers around LLVM pointers; two wrappers of the same LLVM
value compare equal. Every wrapper keeps its :class:`Module` alive. A wrapper
of an erased instruction must not be used again.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Sequence
from ctypes import c_size_t

from llmcompiler.llvm._ffi import Ref, lib, take_message
from llmcompiler.llvm.binding import Module

#: LLVMOpcode values (llvm-c/Core.h, LLVM 19) and the names the IR printer uses.
OPCODES: dict[int, str] = {
    1: "ret", 2: "br", 3: "switch", 4: "indirectbr", 5: "invoke", 7: "unreachable",
    67: "callbr", 66: "fneg", 8: "add", 9: "fadd", 10: "sub", 11: "fsub", 12: "mul",
    13: "fmul", 14: "udiv", 15: "sdiv", 16: "fdiv", 17: "urem", 18: "srem", 19: "frem",
    20: "shl", 21: "lshr", 22: "ashr", 23: "and", 24: "or", 25: "xor", 26: "alloca",
    27: "load", 28: "store", 29: "getelementptr", 30: "trunc", 31: "zext", 32: "sext",
    33: "fptoui", 34: "fptosi", 35: "uitofp", 36: "sitofp", 37: "fptrunc", 38: "fpext",
    39: "ptrtoint", 40: "inttoptr", 41: "bitcast", 60: "addrspacecast", 42: "icmp",
    43: "fcmp", 44: "phi", 45: "call", 46: "select", 47: "userop1", 48: "userop2",
    49: "va_arg", 50: "extractelement", 51: "insertelement", 52: "shufflevector",
    53: "extractvalue", 54: "insertvalue", 68: "freeze", 55: "fence", 56: "cmpxchg",
    57: "atomicrmw", 58: "resume", 59: "landingpad", 61: "cleanupret", 62: "catchret",
    63: "catchpad", 64: "cleanuppad", 65: "catchswitch",
}  # fmt: skip
OPCODE_OF: dict[str, int] = {name: code for code, name in OPCODES.items()}

#: LLVMIntPredicate values and their IR spelling.
PREDICATES: dict[int, str] = {
    32: "eq", 33: "ne", 34: "ugt", 35: "uge", 36: "ult", 37: "ule",
    38: "sgt", 39: "sge", 40: "slt", 41: "sle",
}  # fmt: skip
PREDICATE_OF: dict[str, int] = {name: code for code, name in PREDICATES.items()}

_INTEGER_TYPE_KIND = 8
_VOID_TYPE_KIND = 0
_ARGUMENT_KIND, _BLOCK_KIND, _FUNCTION_KIND, _CONSTANT_INT_KIND = 0, 1, 5, 18
_INSTRUCTION_KIND = 24
_NSW_OPCODES = {"add", "sub", "mul", "shl"}


class Type:
    """An LLVM type: its kind and, for integers, its width in bits."""

    __slots__ = ("ptr", "module")

    def __init__(self, ptr: int, module: Module) -> None:
        self.ptr, self.module = ptr, module

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Type) and other.ptr == self.ptr

    def __hash__(self) -> int:
        return hash(self.ptr)

    @property
    def is_integer(self) -> bool:
        return lib().LLVMGetTypeKind(self.ptr) == _INTEGER_TYPE_KIND

    @property
    def is_void(self) -> bool:
        return lib().LLVMGetTypeKind(self.ptr) == _VOID_TYPE_KIND

    @property
    def width(self) -> int:
        """Bit width of an integer type. Raises TypeError for other types."""
        if not self.is_integer:
            raise TypeError(f"{self} is not an integer type")
        return lib().LLVMGetIntTypeWidth(self.ptr)

    def __str__(self) -> str:
        return take_message(lib().LLVMPrintTypeToString(self.ptr))


class Value:
    """Any LLVM value: argument, constant, global, function or instruction."""

    __slots__ = ("ptr", "module")

    def __init__(self, ptr: int, module: Module) -> None:
        self.ptr, self.module = ptr, module

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Value) and other.ptr == self.ptr

    def __hash__(self) -> int:
        return hash(self.ptr)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self}>"

    def __str__(self) -> str:
        return take_message(lib().LLVMPrintValueToString(self.ptr)).strip()

    @property
    def name(self) -> str:
        """The value's own name, '' when unnamed (see :func:`slot_names`)."""
        size = c_size_t()
        raw = lib().LLVMGetValueName2(self.ptr, ctypes.byref(size))
        return ctypes.string_at(raw, size.value).decode("utf-8", "replace") if raw else ""

    @property
    def type(self) -> Type:
        return Type(lib().LLVMTypeOf(self.ptr), self.module)

    @property
    def is_instruction(self) -> bool:
        return lib().LLVMGetValueKind(self.ptr) == _INSTRUCTION_KIND

    @property
    def is_argument(self) -> bool:
        return lib().LLVMGetValueKind(self.ptr) == _ARGUMENT_KIND

    @property
    def is_constant_int(self) -> bool:
        return lib().LLVMGetValueKind(self.ptr) == _CONSTANT_INT_KIND

    @property
    def is_constant(self) -> bool:
        return bool(lib().LLVMIsConstant(self.ptr))

    def signed_value(self) -> int:
        """The value of an integer constant of at most 64 bits, sign-extended.

        Raises:
            TypeError: not a constant integer, or wider than 64 bits.
        """
        if not self.is_constant_int or self.type.width > 64:
            raise TypeError(f"{self} is not a constant integer of at most 64 bits")
        return lib().LLVMConstIntGetSExtValue(self.ptr)

    def uses(self) -> list[Instruction]:
        """Return the users of this value, one entry per use (an instruction using
        the value twice appears twice). Users that are not instructions (constant
        expressions, globals) are left out."""
        L = lib()
        users = []
        use = L.LLVMGetFirstUse(self.ptr)
        while use:
            user = L.LLVMGetUser(use)
            if L.LLVMGetValueKind(user) == _INSTRUCTION_KIND:
                users.append(Instruction(user, self.module))
            use = L.LLVMGetNextUse(use)
        return users

    def use_count(self) -> int:
        """Number of uses, including uses by non-instructions."""
        L = lib()
        count, use = 0, L.LLVMGetFirstUse(self.ptr)
        while use:
            count += 1
            use = L.LLVMGetNextUse(use)
        return count

    def replace_all_uses_with(self, new: Value) -> None:
        """Make every user of this value use ``new`` instead (same type required)."""
        if self.type != new.type:
            raise TypeError(f"cannot replace a {self.type} value with a {new.type} value")
        lib().LLVMReplaceAllUsesWith(self.ptr, new.ptr)


class Instruction(Value):
    """An instruction inside a basic block."""

    __slots__ = ()

    @property
    def opcode(self) -> str:
        """The IR spelling of the opcode, e.g. 'add', 'phi', 'getelementptr'."""
        code = lib().LLVMGetInstructionOpcode(self.ptr)
        return OPCODES.get(code, f"opcode{code}")

    @property
    def block(self) -> Block:
        return Block(lib().LLVMGetInstructionParent(self.ptr), self.module)

    @property
    def operands(self) -> list[Value]:
        """All operands in order. For a phi, the incoming values; for a branch, the
        condition (if any) and the target blocks as values; for a call, the
        arguments then the callee."""
        L = lib()
        return [
            wrap(L.LLVMGetOperand(self.ptr, i), self.module)
            for i in range(L.LLVMGetNumOperands(self.ptr))
        ]

    def operand(self, index: int) -> Value:
        L = lib()
        if not 0 <= index < L.LLVMGetNumOperands(self.ptr):
            raise IndexError(f"operand {index} out of range for {self.opcode}")
        return wrap(L.LLVMGetOperand(self.ptr, index), self.module)

    @property
    def incoming(self) -> list[tuple[Value, Block]]:
        """A phi's incoming (value, predecessor block) pairs."""
        if self.opcode != "phi":
            raise TypeError(f"{self.opcode} is not a phi")
        L = lib()
        return [
            (
                wrap(L.LLVMGetIncomingValue(self.ptr, i), self.module),
                Block(L.LLVMGetIncomingBlock(self.ptr, i), self.module),
            )
            for i in range(L.LLVMCountIncoming(self.ptr))
        ]

    @property
    def is_terminator(self) -> bool:
        return bool(lib().LLVMIsATerminatorInst(self.ptr))

    @property
    def successors(self) -> list[Block]:
        """A terminator's successor blocks, in order (duplicates kept)."""
        L = lib()
        if not self.is_terminator:
            return []
        return [
            Block(L.LLVMGetSuccessor(self.ptr, i), self.module)
            for i in range(L.LLVMGetNumSuccessors(self.ptr))
        ]

    @property
    def condition(self) -> Value | None:
        """The condition of a conditional ``br``; None for other instructions."""
        L = lib()
        if self.opcode != "br" or not L.LLVMIsConditional(self.ptr):
            return None
        return wrap(L.LLVMGetCondition(self.ptr), self.module)

    @property
    def predicate(self) -> str:
        """An icmp's predicate, e.g. 'slt'."""
        if self.opcode != "icmp":
            raise TypeError(f"{self.opcode} is not an icmp")
        return PREDICATES[lib().LLVMGetICmpPredicate(self.ptr)]

    @property
    def nsw(self) -> bool:
        return self.opcode in _NSW_OPCODES and bool(lib().LLVMGetNSW(self.ptr))

    @property
    def nuw(self) -> bool:
        return self.opcode in _NSW_OPCODES and bool(lib().LLVMGetNUW(self.ptr))

    def set_nsw(self, on: bool = True) -> None:
        lib().LLVMSetNSW(self.ptr, int(on))

    def set_nuw(self, on: bool = True) -> None:
        lib().LLVMSetNUW(self.ptr, int(on))

    def add_incoming(self, incoming: Sequence[tuple[Value, Block]]) -> None:
        """Add (value, predecessor) pairs to a phi."""
        n = len(incoming)
        values = (Ref * n)(*[v.ptr for v, _ in incoming])
        blocks = (Ref * n)(*[b.ptr for _, b in incoming])
        lib().LLVMAddIncoming(self.ptr, values, blocks, n)

    def erase(self) -> None:
        """Remove the instruction from its block and delete it. It must have no uses."""
        if self.use_count():
            raise ValueError(f"cannot erase {self}: it still has uses")
        lib().LLVMInstructionEraseFromParent(self.ptr)


class Block:
    """A basic block."""

    __slots__ = ("ptr", "module")

    def __init__(self, ptr: int, module: Module) -> None:
        self.ptr, self.module = ptr, module

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Block) and other.ptr == self.ptr

    def __hash__(self) -> int:
        return hash(self.ptr)

    def __repr__(self) -> str:
        return f"<Block {self.name or hex(self.ptr)}>"

    @property
    def name(self) -> str:
        """The block's own label, '' when unnamed (see :func:`slot_names`)."""
        return (lib().LLVMGetBasicBlockName(self.ptr) or b"").decode("utf-8", "replace")

    @property
    def value_ptr(self) -> int:
        """The block as an LLVM value (the key :func:`slot_names` uses)."""
        return lib().LLVMBasicBlockAsValue(self.ptr)

    def instructions(self) -> Iterator[Instruction]:
        """Yield the instructions in order. Safe against erasing the yielded one."""
        L = lib()
        inst = L.LLVMGetFirstInstruction(self.ptr)
        while inst:
            following = L.LLVMGetNextInstruction(inst)
            yield Instruction(inst, self.module)
            inst = following

    @property
    def terminator(self) -> Instruction | None:
        ptr = lib().LLVMGetBasicBlockTerminator(self.ptr)
        return Instruction(ptr, self.module) if ptr else None

    @property
    def successors(self) -> list[Block]:
        term = self.terminator
        return term.successors if term else []

    def first_non_phi(self) -> Instruction | None:
        return next((i for i in self.instructions() if i.opcode != "phi"), None)


class Function(Value):
    """A function (defined or declared)."""

    __slots__ = ()

    @property
    def is_declaration(self) -> bool:
        return bool(lib().LLVMIsDeclaration(self.ptr))

    @property
    def params(self) -> list[Value]:
        L = lib()
        return [
            Value(L.LLVMGetParam(self.ptr, i), self.module)
            for i in range(L.LLVMCountParams(self.ptr))
        ]

    def blocks(self) -> list[Block]:
        """The blocks in layout order; the first is the entry block."""
        L = lib()
        out, bb = [], L.LLVMGetFirstBasicBlock(self.ptr)
        while bb:
            out.append(Block(bb, self.module))
            bb = L.LLVMGetNextBasicBlock(bb)
        return out

    @property
    def entry(self) -> Block:
        if self.is_declaration:
            raise ValueError(f"@{self.name} is a declaration: it has no blocks")
        return Block(lib().LLVMGetEntryBasicBlock(self.ptr), self.module)

    def instructions(self) -> Iterator[Instruction]:
        for block in self.blocks():
            yield from block.instructions()


def functions(module: Module, defined_only: bool = True) -> list[Function]:
    """Return the module's functions in order (only those with a body by default)."""
    L = lib()
    out, fn = [], L.LLVMGetFirstFunction(module.ptr)
    while fn:
        if not (defined_only and L.LLVMIsDeclaration(fn)):
            out.append(Function(fn, module))
        fn = L.LLVMGetNextFunction(fn)
    return out


def function(module: Module, name: str) -> Function | None:
    """Return the function named ``name``, or None."""
    ptr = lib().LLVMGetNamedFunction(module.ptr, name.encode())
    return Function(ptr, module) if ptr else None


def slot_names(fn: Function) -> dict[int, str]:
    """Map value pointers (arguments, blocks as values, instructions) of ``fn`` to
    the names the IR printer shows: their own name, or ``%N`` numbered as the
    printer numbers unnamed values. Blocks are keyed by :attr:`Block.value_ptr`."""
    names: dict[int, str] = {}
    counter = 0

    def name_of(value_name: str) -> str:
        nonlocal counter
        if value_name:
            return value_name
        counter += 1
        return str(counter - 1)

    for param in fn.params:
        names[param.ptr] = "%" + name_of(param.name)
    for block in fn.blocks():
        names[block.value_ptr] = "%" + name_of(block.name)
        for inst in block.instructions():
            if inst.name or not inst.type.is_void:
                names[inst.ptr] = "%" + name_of(inst.name)
    return names


def wrap(ptr: int, module: Module) -> Value:
    """Return the LLVM value at ``ptr`` as an Instruction, a Function or a plain Value."""
    kind = lib().LLVMGetValueKind(ptr)
    if kind == _INSTRUCTION_KIND:
        return Instruction(ptr, module)
    if kind == _FUNCTION_KIND:
        return Function(ptr, module)
    return Value(ptr, module)
