"""Building instructions with an LLVM IRBuilder: the edits that narrowing needs.

Casts, binary operators, comparisons, selects and phis, positioned before an
instruction or at the end of a block; integer types and constants to feed them.
"""

from __future__ import annotations

from collections.abc import Sequence

from llmcompiler.llvm._ffi import lib
from llmcompiler.llvm.binding import Handle, Module
from llmcompiler.llvm.ir import OPCODE_OF, PREDICATE_OF, Block, Instruction, Type, Value, wrap


def int_type(module: Module, bits: int) -> Type:
    """Return the integer type of ``bits`` bits in the module's context."""
    L = lib()
    return Type(L.LLVMIntTypeInContext(L.LLVMGetModuleContext(module.ptr), bits), module)


def const_int(ty: Type, value: int) -> Value:
    """Return an integer constant of type ``ty`` (``value`` taken modulo 2**width)."""
    return Value(lib().LLVMConstInt(ty.ptr, value & ((1 << 64) - 1), 1), ty.module)


class Builder(Handle):
    """An LLVM IRBuilder in a module's context. New instructions go before the
    instruction given to :meth:`position_before` (or at the end of a block).

    Every ``build`` method returns the new value: an :class:`Instruction`, or a
    constant when LLVM folds constant operands.
    """

    def __init__(self, module: Module) -> None:
        L = lib()
        self.module = module
        self._ptr = L.LLVMCreateBuilderInContext(L.LLVMGetModuleContext(module.ptr))

    def _dispose(self, ptr: int) -> None:
        lib().LLVMDisposeBuilder(ptr)

    def position_before(self, inst: Instruction) -> None:
        """Insert the next instructions before ``inst``."""
        lib().LLVMPositionBuilderBefore(self.ptr, inst.ptr)

    def position_at_end(self, block: Block) -> None:
        """Insert the next instructions at the end of ``block``."""
        lib().LLVMPositionBuilderAtEnd(self.ptr, block.ptr)

    def trunc(self, value: Value, ty: Type, name: str = "") -> Value:
        """Build ``trunc value to ty``."""
        return wrap(lib().LLVMBuildTrunc(self.ptr, value.ptr, ty.ptr, name.encode()), self.module)

    def sext(self, value: Value, ty: Type, name: str = "") -> Value:
        """Build ``sext value to ty``."""
        return wrap(lib().LLVMBuildSExt(self.ptr, value.ptr, ty.ptr, name.encode()), self.module)

    def zext(self, value: Value, ty: Type, name: str = "") -> Value:
        """Build ``zext value to ty``."""
        return wrap(lib().LLVMBuildZExt(self.ptr, value.ptr, ty.ptr, name.encode()), self.module)

    def binop(self, opcode: str, lhs: Value, rhs: Value, name: str = "") -> Value:
        """Build ``opcode lhs, rhs`` (add, sub, mul, and, or, xor, shl, lshr, ...).

        Raises:
            ValueError: an unknown opcode.
        """
        if opcode not in OPCODE_OF:
            raise ValueError(f"unknown opcode {opcode!r}")
        ptr = lib().LLVMBuildBinOp(self.ptr, OPCODE_OF[opcode], lhs.ptr, rhs.ptr, name.encode())
        return wrap(ptr, self.module)

    def icmp(self, predicate: str, lhs: Value, rhs: Value, name: str = "") -> Value:
        """Build ``icmp predicate lhs, rhs`` (predicate as spelled in IR, e.g. "slt").

        Raises:
            KeyError: an unknown predicate.
        """
        code = PREDICATE_OF[predicate]
        return wrap(
            lib().LLVMBuildICmp(self.ptr, code, lhs.ptr, rhs.ptr, name.encode()), self.module
        )

    def select(self, cond: Value, if_true: Value, if_false: Value, name: str = "") -> Value:
        """Build ``select cond, if_true, if_false``."""
        ptr = lib().LLVMBuildSelect(self.ptr, cond.ptr, if_true.ptr, if_false.ptr, name.encode())
        return wrap(ptr, self.module)

    def phi(self, ty: Type, incoming: Sequence[tuple[Value, Block]], name: str = "") -> Instruction:
        """Build a phi with these (value, predecessor) pairs and return it (position the
        builder at the top of its block first)."""
        node = Instruction(lib().LLVMBuildPhi(self.ptr, ty.ptr, name.encode()), self.module)
        if incoming:
            node.add_incoming(incoming)
        return node
