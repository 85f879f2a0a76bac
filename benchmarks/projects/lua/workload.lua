-- A workload for the Lua interpreter built by benchmarks/projects.py: every line it
-- prints is compared with workload.expected. Deterministic: no clock, no math.random.

-- primes: a sieve, then their count, sum and the last few
local function sieve(n)
  local composite, primes = {}, {}
  for i = 2, n do
    if not composite[i] then
      primes[#primes + 1] = i
      for j = i * i, n, i do composite[j] = true end
    end
  end
  return primes
end
local primes = sieve(200000)
local sum = 0
for _, p in ipairs(primes) do sum = sum + p end
print("primes", #primes, sum, primes[#primes - 2], primes[#primes - 1], primes[#primes])

-- a linear congruential generator (64-bit integer arithmetic wraps)
local seed = 42
local function rand(m)
  seed = (seed * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff
  return (seed >> 33) % m
end

-- table sorting: records by two keys, then numbers with the default order
local people = {}
for i = 1, 2000 do
  people[i] = { name = string.format("n%04d", rand(5000)), age = 18 + rand(60), id = i }
end
table.sort(people, function(a, b)
  if a.age ~= b.age then return a.age > b.age end
  if a.name ~= b.name then return a.name < b.name end
  return a.id < b.id
end)
local head = {}
for i = 1, 5 do head[i] = people[i].name .. ":" .. people[i].age end
print("sorted", table.concat(head, " "), people[#people].age)
local numbers = {}
for i = 1, 10000 do numbers[i] = rand(1000000) - 500000 end
table.sort(numbers)
local ordered = true
for i = 2, #numbers do ordered = ordered and numbers[i - 1] <= numbers[i] end
print("numbers", ordered, numbers[1], numbers[5000], numbers[10000])

-- strings: patterns, gsub, format, reverse, pack
local text = string.rep("The quick brown fox jumps over the lazy dog. ", 200)
local words, letters = 0, {}
for w in text:gmatch("%a+") do
  words = words + 1
  local c = w:sub(1, 1):lower()
  letters[c] = (letters[c] or 0) + 1
end
local keys = {}
for k in pairs(letters) do keys[#keys + 1] = k end
table.sort(keys)
local counts = {}
for _, k in ipairs(keys) do counts[#counts + 1] = k .. "=" .. letters[k] end
print("words", words, table.concat(counts, ","))
local swapped, n = text:sub(1, 44):gsub("(%w+) (%w+)", "%2 %1")
print("gsub", n, swapped)
print("upper", ("hello, world"):upper():reverse(), #text, text:find("lazy", 1000, true))
print("format", string.format("%5.2f|%-6s|%x|%q|%g", math.pi, "ab", 48879, "a\nb", 1e20))
local packed = string.pack("<i4 d z", -7, 2.5, "lua")
print("pack", #packed, string.unpack("<i4 d z", packed))
print("utf8", utf8.len("añ€😀"), table.concat({ utf8.codepoint("añ€😀", 1, -1) }, " "))

-- closures, coroutines, varargs, integer and float math
local function counter()
  local c = 0
  return function(step) c = c + (step or 1); return c end
end
local c1, c2 = counter(), counter()
c1(); c1(5); c2(10)
print("closures", c1(), c2())
local gen = coroutine.wrap(function()
  local a, b = 0, 1
  for _ = 1, 90 do coroutine.yield(a); a, b = b, a + b end
end)
local fib
for _ = 1, 90 do fib = gen() end
print("fib", fib, math.type(fib), 7 // 2, -7 // 2, 7 % -3, 2 ^ 10, 1 / 0 > 0, math.tointeger(3.0))
local function va(...) return select("#", ...), (select(2, ...)) end
print("varargs", va(1, nil, 3))

-- errors and metatables
local ok, err = pcall(function() error({ code = 7 }) end)
print("pcall", ok, err.code, select(2, pcall(error, "plain", 0)))
local vec = setmetatable({}, {
  __index = function(_, k) return k * 2 end,
  __call = function(_, a, b) return a + b end,
  __tostring = function() return "vec" end,
})
print("meta", vec[21], vec(2, 3), tostring(vec))

-- a checksum over a big table, with garbage collection in between
local t = {}
for i = 1, 100000 do t[i] = (i * 2654435761) % 4294967296 end
collectgarbage()
local h = 0
for i = 1, #t do h = (h * 31 + t[i]) % 1000000007 end
print("checksum", h)
