-- A workload for the sqlite3 shell built by benchmarks/projects.py: its output is
-- compared with workload.expected. Deterministic: no clock, no random().
.bail on
.headers off
.mode list
.separator |

-- primes below 10000 by a recursive CTE, checked against trial division
CREATE TABLE n(i INTEGER PRIMARY KEY);
WITH RECURSIVE c(x) AS (SELECT 2 UNION ALL SELECT x + 1 FROM c WHERE x < 10000)
INSERT INTO n SELECT x FROM c;
CREATE TABLE primes AS
  SELECT i AS p FROM n AS a
  WHERE NOT EXISTS (SELECT 1 FROM n AS b WHERE b.i * b.i <= a.i AND a.i % b.i = 0);
SELECT 'primes', count(*), sum(p), max(p) FROM primes;

-- a schema with an index, a join, grouping and ordering
CREATE TABLE dept(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE emp(id INTEGER PRIMARY KEY, name TEXT, dept INTEGER REFERENCES dept(id),
                 salary INTEGER, hired TEXT);
CREATE INDEX emp_dept ON emp(dept, salary);
INSERT INTO dept(name) VALUES ('compilers'), ('runtime'), ('tools'), ('empty');
WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM c WHERE k < 300)
INSERT INTO emp(name, dept, salary, hired)
  SELECT printf('e%03d', k), 1 + k % 3, 1000 + (k * 7919) % 5000,
         date('2000-01-01', printf('+%d days', (k * 37) % 7000))
  FROM c;
SELECT 'by dept', d.name, count(e.id), sum(e.salary), min(e.hired), max(e.hired)
  FROM dept AS d LEFT JOIN emp AS e ON e.dept = d.id
  GROUP BY d.id ORDER BY d.name;
SELECT 'top', name, salary FROM emp ORDER BY salary DESC, name LIMIT 3;

-- window functions
SELECT 'rank', name, dept, salary, r FROM (
  SELECT name, dept, salary, rank() OVER (PARTITION BY dept ORDER BY salary DESC, name) AS r
  FROM emp) WHERE r <= 2 ORDER BY dept, r;
SELECT 'running', id, sum(salary) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW)
  FROM emp WHERE id <= 4;

-- updates, deletes and a transaction rolled back
BEGIN;
UPDATE emp SET salary = salary * 2 WHERE dept = 2;
DELETE FROM emp WHERE salary < 1500;
SELECT 'in transaction', count(*), sum(salary) FROM emp;
ROLLBACK;
SELECT 'after rollback', count(*), sum(salary) FROM emp;

-- strings, dates, math and JSON
SELECT 'strings', upper('sqlite'), substr('abcdef', 2, 3), replace('a-b-c', '-', '+'),
       instr('hello', 'll'), length('añ€'), hex('AZ'), trim('  x  '), 'x' || 'y' || 'z';
SELECT 'printf', printf('%5.2f|%-4s|%04d|%x|%e', 3.14159, 'ab', 42, 255, 12345.678);
SELECT 'dates', date('2024-02-28', '+1 day'), strftime('%j', '2024-12-31'),
       julianday('2024-03-01') - julianday('2024-02-01'), datetime(1700000000, 'unixepoch');
SELECT 'math', round(sqrt(2), 6), pow(2, 10), floor(-2.5), ceil(2.1), 7 / 2, 7 % 3, 7.0 / 2,
       abs(-9223372036854775807), cast('12abc' AS INTEGER);
SELECT 'json', json_object('a', 1, 'b', json_array(1, 2, 'x')),
       json_extract('{"p":{"q":[10,20,30]}}', '$.p.q[1]'),
       (SELECT group_concat(value, ',') FROM json_each('[3,1,2]')),
       json_array_length('[1,[2,3],4]');

-- full-text search (FTS5) and an R*Tree
CREATE VIRTUAL TABLE docs USING fts5(title, body);
INSERT INTO docs VALUES
  ('compilers', 'a compiler translates source code into machine code'),
  ('size', 'smaller code fits in flash memory and caches'),
  ('passes', 'optimization passes transform the intermediate representation of code');
SELECT 'fts', title FROM docs WHERE docs MATCH 'code NOT flash' ORDER BY title;
SELECT 'fts rank', title FROM docs WHERE docs MATCH 'code' ORDER BY rank LIMIT 1;
CREATE VIRTUAL TABLE boxes USING rtree(id, x0, x1, y0, y1);
WITH RECURSIVE c(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM c WHERE k < 99)
INSERT INTO boxes SELECT k, k, k + 2, k % 10, k % 10 + 1 FROM c;
SELECT 'rtree', count(*), group_concat(id, ',') FROM boxes
  WHERE x0 <= 20 AND x1 >= 15 AND y0 <= 6 AND y1 >= 5;

-- a checksum over a larger table, through a query plan that uses the index
CREATE TABLE big(k INTEGER PRIMARY KEY, v INTEGER, s TEXT);
WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM c WHERE k < 50000)
INSERT INTO big SELECT k, (k * 2654435761) % 4294967296, hex(k * 31) FROM c;
CREATE INDEX big_v ON big(v);
SELECT 'big', count(*), sum(v % 1000003), count(DISTINCT substr(s, 1, 2)),
       (SELECT k FROM big ORDER BY v LIMIT 1), (SELECT k FROM big WHERE v > 4000000000 ORDER BY v LIMIT 1)
  FROM big;
PRAGMA integrity_check;
