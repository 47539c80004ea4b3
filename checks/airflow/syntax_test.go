package airflow

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// compileScript reports CPython's version on its first line, then, per
// file, whether CPython's compiler (what py_compile runs) accepts it, and the
// line of the error when not.
const compileScript = `
import sys
print("%d.%d" % sys.version_info[:2])
for path in sys.argv[1:]:
    try:
        with open(path, "rb") as f:
            compile(f.read(), path, "exec", dont_inherit=True)
        print(path + "\tok\t0")
    except (SyntaxError, ValueError) as e:
        print(path + "\terr\t" + str(getattr(e, "lineno", 0) or 0))
`

// pythonVerdicts runs python3 over files and returns its version ("3.11")
// and its verdict per file: 0 accepted, else the error line (-1 when
// unknown). Without python3 the test is skipped, saying why.
func pythonVerdicts(t testing.TB, files []string) (string, map[string]int) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not on PATH: the syntax check is compared with CPython's compile() only where python3 is installed")
	}
	out, err := exec.Command(py, append([]string{"-c", compileScript}, files...)...).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	verdicts := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	version := ""
	if sc.Scan() {
		version = strings.TrimSpace(sc.Text())
	}
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 3 {
			continue
		}
		line, _ := strconv.Atoi(parts[2])
		if parts[1] == "err" && line == 0 {
			line = -1
		}
		verdicts[parts[0]] = line
	}
	return version, verdicts
}

func pyFixtures(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, root := range []string{"../../testdata/airflow", "../../testdata/sample-repo/dags"} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".py") {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(files)
	return files
}

// acceptedFrom names the broken fixtures that a later Python accepts, with
// the first minor version that does.
var acceptedFrom = map[string]int{
	"bad_fstring_nested_quote.py": 12, // PEP 701
	"bad_pep695_type_alias.py":    12, // PEP 695
	"bad_pep695_generic_def.py":   12,
}

// TestSyntaxMatchesCPython: every file CPython rejects has a syntax finding,
// on the same line, and no file it accepts has one. The analyzer follows the
// installed python3's version, so the few rules that changed between
// releases are compared with that release's verdict; a bad_ fixture must be
// rejected by it and a valid_ one accepted, or the fixture proves nothing.
func TestSyntaxMatchesCPython(t *testing.T) {
	files := pyFixtures(t)
	version, verdicts := pythonVerdicts(t, files)
	minor, err := pythonMinor(version)
	if err != nil {
		t.Fatalf("python3 reports version %q: %v", version, err)
	}
	t.Logf("comparing with CPython %s", version)
	a := NewAnalyzer(nil)
	defer a.Close()
	if err := a.SetPythonVersion(version); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, "../../testdata/"), func(t *testing.T) {
			want, ok := verdicts[f]
			if !ok {
				t.Fatalf("python3 gave no verdict for %s", f)
			}
			base := filepath.Base(f)
			switch {
			case strings.HasPrefix(base, "bad_") && want == 0 && (acceptedFrom[base] == 0 || minor < acceptedFrom[base]):
				t.Errorf("CPython %s accepts this bad_ fixture; it must hold a program CPython rejects", version)
			case strings.HasPrefix(base, "valid_") && want != 0:
				t.Errorf("CPython %s rejects this valid_ fixture at line %d", version, want)
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res := a.File(f, src)
			var syn []Finding
			for _, x := range res.Findings {
				if x.Rule == RuleSyntax {
					syn = append(syn, x)
				}
			}
			switch {
			case want == 0 && len(syn) > 0:
				t.Errorf("CPython accepts the file, the analyzer reports %s", syn[0].Message)
			case want != 0 && len(syn) == 0:
				t.Errorf("CPython rejects the file (line %d), the analyzer reports no syntax error", want)
			case want > 0 && syn[0].Line != want:
				t.Errorf("syntax error at line %d, CPython says line %d (%s)", syn[0].Line, want, syn[0].Message)
			}
			if len(syn) > 1 {
				t.Errorf("%d syntax findings; CPython stops at the first", len(syn))
			}
			if res.SyntaxOK != (len(syn) == 0) {
				t.Errorf("SyntaxOK = %v with %d syntax findings", res.SyntaxOK, len(syn))
			}
		})
		if verdicts[f] != 0 {
			bad++
		}
	}
	if bad < 25 {
		t.Errorf("only %d broken fixtures; the comparison needs the deliberately broken ones", bad)
	}
}

// TestSyntaxErrors pins the place and message of each error tree-sitter's
// grammar lets through, with or without python3, including the rules that
// depend on the Python version.
func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		name, src, py string
		want          string // "line:col message fragment", or "" for none
	}{
		{"future after import", "import os\nfrom __future__ import annotations\n", "3.11", "2:1 from __future__ imports must occur at the beginning"},
		{"future in a function", "def f():\n    from __future__ import annotations\n", "3.11", "2:5 from __future__ imports must occur"},
		{"future after bytes docstring", "b\"doc\"\nfrom __future__ import annotations\n", "3.11", "2:1 from __future__ imports must occur"},
		{"future after two strings", "\"a\"\n\"b\"\nfrom __future__ import annotations\n", "3.11", "3:1 from __future__ imports must occur"},
		{"future after docstring", "\"\"\"doc\"\"\"\n# note\nfrom __future__ import annotations\nfrom __future__ import division\nimport os\n", "3.11", ""},
		{"future braces", "from __future__ import braces\n", "3.11", "1:1 not a chance"},
		{"future unknown", "from __future__ import nope\n", "3.11", "1:1 future feature nope is not defined"},
		{"octal", "x = 0777\n", "3.11", "1:5 leading zeros in decimal integer literals"},
		{"octal underscore", "x = 0_7\n", "3.11", "1:5 leading zeros"},
		{"zeros and floats", "x = (0, 00, 0_0, 0777.5, 0777j, 09.5, 0o17)\n", "3.11", ""},
		{"long suffix", "x = 10L\n", "3.11", "1:5 invalid decimal literal"},
		{"del call", "del a, f()\n", "3.11", "1:8 cannot delete function call"},
		{"del literal", "del 1\n", "3.11", "1:5 cannot delete literal"},
		{"del starred", "del *a\n", "3.11", "1:5 cannot delete starred"},
		{"del targets", "del (a), [b, c], d.e, f[0]\n", "3.11", ""},
		{"augassign tuple", "a, b += 1\n", "3.11", "1:1 'tuple' is an illegal expression for augmented assignment"},
		{"augassign parenthesized tuple", "((a, b)) += 1\n", "3.11", "1:1 'tuple' is an illegal expression"},
		{"augassign list", "[a] += 1\n", "3.11", "1:1 'list' is an illegal expression"},
		{"augassign parenthesized name", "(a) += 1\n(a.b) += 1\n", "3.11", ""},
		{"genexp argument", "f(x for x in y, 1)\n", "3.11", "1:3 Generator expression must be parenthesized"},
		{"comprehension tuple", "[x for x in 1, 2]\n", "3.11", "1:14 invalid syntax"},
		{"genexp sole argument", "f(x for x in y)\n", "3.11", ""},
		{"bare star then kwargs", "def f(*, **k):\n    pass\n", "3.11", "1:7 named arguments must follow bare *"},
		{"bare star alone", "lambda *: 0\n", "3.11", "1:8 named arguments must follow bare *"},
		{"lambda bare star then kwargs", "lambda *, **k: 0\n", "3.11", "1:8 named arguments must follow bare *"},
		{"args after kwargs", "def f(**k, *a):\n    pass\n", "3.11", "1:12 arguments cannot follow var-keyword argument"},
		{"two stars", "def f(*a, *b):\n    pass\n", "3.11", "1:11 * argument may appear only once"},
		{"slash after star", "def f(*, a, /):\n    pass\n", "3.11", "1:13 / must be ahead of *"},
		{"good parameters", "def f(a, /, b, *, c, **k):\n    pass\nlambda *, k: k\n", "3.11", ""},
		{"starred value", "x = *a\n", "3.11", "1:5 can't use starred expression here"},
		{"starred chained value", "x = y = *a\n", "3.11", "1:9 can't use starred expression here"},
		{"starred return", "def f():\n    return *a\n", "3.11", "2:12 can't use starred expression here"},
		{"starred statement", "*a\n", "3.11", "1:1 can't use starred expression here"},
		{"parenthesized starred", "(*a)\n", "3.11", "1:2 cannot use starred expression here"},
		{"starred target alone", "*a = c\n", "3.11", "1:1 starred assignment target must be in a list or tuple"},
		{"two starred targets", "*a, *b = c\n", "3.11", "1:1 multiple starred expressions in assignment"},
		{"two starred loop targets", "for *a, *b in c:\n    pass\n", "3.11", "1:5 multiple starred expressions"},
		{"two starred nested", "a, (*b, *c) = d\n", "3.11", "1:4 multiple starred expressions"},
		{"starred fine", "*a, b = c\nx = *a, *b\nprint(*a)\n*r, = c\n", "3.11", ""},
		{"bytes non-ASCII", "x = b\"caf\u00e9\"\n", "3.11", "1:5 bytes can only contain ASCII literal characters"},
		{"bytes escapes", "x = b\"caf\\xc3\\xa9\" rb\"\\d\"\n", "3.11", ""},
		{"mixed bytes", "x = b\"a\" \"b\"\n", "3.11", "1:10 cannot mix bytes and nonbytes literals"},
		{"unknown character name", "x = \"\\N{SNOWMAN WITH HAT}\"\n", "3.11", "1:6 unknown Unicode character name \"SNOWMAN WITH HAT\""},
		{"unknown name in f-string", "x = f\"{1}\\N{NOPE} {2}\"\n", "3.11", "1:10 unknown Unicode character name"},
		{"unknown name in hangul", "x = \"\\N{HANGUL SYLLABLE XX}\"\n", "3.11", "1:6 unknown Unicode character name"},
		{"known character names", "x = \"\\N{snowman}\\N{LINE FEED}\\N{BOM}\\N{CJK UNIFIED IDEOGRAPH-4E00}\\N{HANGUL SYLLABLE GAG}\"\n", "3.11", ""},
		{"raw and bytes keep \\N", "x = r\"\\N{NOPE}\" + b\"\\N{NOPE}\"\n", "3.11", ""},
		{"global after assignment", "def f():\n    x = 1\n    global x\n", "3.11", "3:5 name 'x' is assigned to before global declaration"},
		{"global after use", "def f():\n    print(x)\n    global x\n", "3.11", "3:5 name 'x' is used prior to global declaration"},
		{"global parameter", "def f(x):\n    global x\n", "3.11", "2:5 name 'x' is parameter and global"},
		{"global annotated", "def f():\n    x: int\n    global x\n", "3.11", "3:5 annotated name 'x' can't be global"},
		{"global after loop target", "def f():\n    for x in y:\n        pass\n    global x\n", "3.11", "4:5 name 'x' is assigned to before global"},
		{"global at module level", "x = 1\nglobal x\n", "3.11", "2:1 name 'x' is assigned to before global"},
		{"nonlocal after assignment", "def f():\n    x = 1\n    def g():\n        x = 2\n        nonlocal x\n", "3.11", "5:9 name 'x' is assigned to before nonlocal"},
		{"global first", "def f():\n    global x\n    x = 1\n", "3.11", ""},
		{"global after other scopes", "def f():\n    y.x = 1\n    g(x=1)\n    [x for x in y]\n    lambda x: x\n    def h():\n        x = 1\n    global x\n", "3.11", ""},
		{"nested quotes before 3.12", "t = 'a'\ns = f\"{\"raw.\" + t}\"\n", "3.11", "2:7 f-string: expecting '}'"},
		{"nested quotes from 3.12", "t = 'a'\ns = f\"{\"raw.\" + t}\"\n", "3.12", ""},
		{"backslash in field before 3.12", "s = f\"{'\\n'.join(a)}\"\n", "3.11", "1:8 f-string expression part cannot include a backslash"},
		{"backslash in field from 3.12", "s = f\"{'\\n'.join(a)}\"\n", "3.12", ""},
		{"other quotes in field", "s = f'{a[\"k\"]}' + f\"\"\"{\"a\"}\"\"\" + f'{a:{\"k\"}}'\n", "3.11", ""},
		{"assignment cut at the line end", "x =\nfoo(1)\n", "3.11", "1:3 invalid syntax (the statement ends at the line end"},
		{"attribute cut at the line end", "add = res.\nappend\n", "3.11", "1:10 invalid syntax (the statement ends"},
		{"stray colon line", "print(1)\n:\n", "3.11", "2:1 invalid syntax"},
		{"statements joined across lines fine", "x = (1 +\n     2)\ny = [\n 1] + \\\n  [2]\nz = f(a,\n      b)['k']\nimport os, \\\n    sys\nw = '''a\nb''' + \"c\"\nv = {\n}\n", "3.11", ""},
		{"two statements on one line", "global x p.finalize()\n", "3.11", "1:10 invalid syntax (statements on one line need a ';'"},
		{"value then call on one line", "x = a b(c)\n", "3.11", "1:"},
		{"statements with semicolons", "x = 1; y = 2;\nif x: pass; z = 3\n", "3.11", ""},
		{"clause without a body", "if x:\n    pass\nelif y:\n    # nothing yet\nelse:\n    pass\n", "3.11", "5:1 expected an indented block after line 3"},
		{"def without a body", "def f():\n\nx = 1\n", "3.11", "3:1 expected an indented block after line 1"},
		{"format spec starting with =", "t = 'x'\nb = f\"{t:=^40} {t:={t}}\"\n", "3.11", ""},
		{"walrus as a value", "x = y := 1\n", "3.11", "1:5 invalid syntax (':=' needs parentheses here)"},
		{"walrus as a dict key", "d = {Name:=F: 1}\n", "3.11", "1:6 invalid syntax (':='"},
		{"walrus in a comprehension's if", "x = [y for y in a if b := y]\n", "3.11", "1:22 invalid syntax (':='"},
		{"walrus where CPython takes it", "f(a := 1)\na[b := 1]\nx = [c := 1, 2], {d := 1}, [e := y for y in a]\nif g := 1:\n    pass\nwhile h := 0:\n    pass\nprint(f\"{k:=1} {(m:=2)}\")\n", "3.11", ""},
		{"print chevron is an expression", "print >>f, x\n", "3.11", ""},
		{"raise from without exception", "raise from y\n", "3.11", "1:7 invalid syntax (raise … from"},
		{"async for outside async def", "def f():\n    async for a in b:\n        pass\n", "3.11", "2:5 'async for' outside async function"},
		{"async with outside async def", "async with a:\n    pass\n", "3.11", "1:1 'async with' outside async function"},
		{"async comprehension outside async def", "x = [i async for i in y]\n", "3.11", "1:5 asynchronous comprehension outside of an asynchronous function"},
		{"async forms CPython takes", "async def f():\n    async for a in b:\n        pass\n    async with c:\n        pass\n    return [i async for i in y]\ng = (i async for i in y)\n", "3.11", ""},
		{"annotated list target", "[x]: int\n", "3.11", "1:1 only single target (not list) can be annotated"},
		{"annotated tuple target", "x, y: int\n", "3.11", "1:1 only single target (not tuple) can be annotated"},
		{"annotated parenthesized name", "(x): int = 1\nx.y: int\nz[0]: int\n", "3.11", ""},
		{"trailing underscore", "x = 1_\n", "3.11", "1:5 invalid decimal literal"},
		{"double underscore", "x = 1__0\n", "3.11", "1:5 invalid syntax"},
		{"underscores fine", "x = 1_000 + 0x_ff + 0b_1 + 1_0j\n", "3.11", ""},
		{"two stars in a sequence pattern", "match x:\n    case [*a, *b]:\n        pass\n", "3.11", "2:10 multiple starred names in sequence pattern"},
		{"rest not last in a mapping pattern", "match x:\n    case {**r, \"a\": 1}:\n        pass\n", "3.11", "2:16 invalid syntax (**rest must be the last"},
		{"duplicate mapping key", "match x:\n    case {\"a\": 1, \"a\": 2}:\n        pass\n", "3.11", "2:10 mapping pattern checks duplicate key (\"a\")"},
		{"repeated class attribute", "match x:\n    case A(b=1, b=2):\n        pass\n", "3.11", "2:17 attribute name repeated in class pattern: b"},
		{"positional after keyword pattern", "match x:\n    case A(b=1, 2):\n        pass\n", "3.11", "2:17 positional patterns follow keyword patterns"},
		{"patterns CPython takes", "match x:\n    case {a.b: 1, a.b: 2, **r}:\n        pass\n    case A(1, b=[*c], d=(1 as e) as f):\n        pass\n    case (*g, h):\n        pass\n", "3.11", ""},
		{"stray else at module level", "x = 1\nelse:\n    pass\n", "3.11", "2:1 invalid syntax ('else' is a keyword"},
		{"else after with", "with DAG(\"d\") as dag:\n    pass\nelse:\n    pass\n", "3.11", "3:1 invalid syntax ('else' is a keyword"},
		{"else after finally", "try:\n    pass\nfinally:\n    pass\nelse:\n    pass\n", "3.11", "5:1 invalid syntax ('else'"},
		{"keyword as attribute", "obj.pass = 1\n", "3.11", "1:5 invalid syntax ('pass'"},
		{"keyword-like names", "match = case = type = _ = print = exec = 1\nx.match, x.type\n", "3.11", ""},
		{"bare except first", "try:\n    pass\nexcept:\n    pass\nexcept ValueError:\n    pass\n", "3.11", "3:1 default 'except:' must be last"},
		{"bare except last", "try:\n    pass\nexcept ValueError:\n    pass\nexcept:\n    pass\n", "3.11", ""},
		{"starred field", "v = f\"a {*x}\"\n", "3.11", "1:10 f-string: cannot use starred expression here"},
		{"bare lambda field", "v = f\"{lambda: 1}\"\n", "3.11", "1:8 f-string: invalid syntax (a lambda"},
		{"spec fields nested twice", "v = f\"{x:{w:{p}}}\"\n", "3.11", "1:13 f-string: expressions nested too deeply"},
		{"fields CPython takes", "v = f\"{x:{w}.{p}f} {(lambda: 1)()} {(*x,)} {x!r:^{w}}\"\n", "3.11", ""},
		{"f-string conversion", "x = f'{ds!x}'\n", "3.11", "1:10 f-string: invalid conversion character"},
		{"f-string conversions", "x = f'{a!r}{b!s}{c!a}{d!r:>3}'\n", "3.11", ""},
		{"truncated \\x", "x = '\\x4'\n", "3.11", "1:6 (unicode error) 'unicodeescape' codec can't decode bytes: truncated \\xXX escape"},
		{"truncated \\u", "x = 'a\\u12'\n", "3.11", "1:6 truncated \\uXXXX escape"},
		{"truncated \\U", "x = '\\U1234567'\n", "3.11", "1:6 truncated \\UXXXXXXXX escape"},
		{"illegal \\U", "x = '\\U00110000'\n", "3.11", "1:6 illegal Unicode character"},
		{"truncated \\x in bytes", "x = b'\\x4'\n", "3.11", "1:7 invalid \\x escape"},
		{"escaped backslashes and raw", "x = '\\\\x' + r'\\x' + b'\\u1' + f'\\x41{1}'\n", "3.11", ""},
		{"escape error at the token after the literals", "x = ('a'\n     '\\x4'\n     )\n", "3.11", "3:6 truncated \\xXX escape"},
		{"escape error in a docstring", "def f():\n    '''\\u12 doc'''\n    return 1\n", "3.11", "2:8 truncated \\uXXXX escape"},
		{"conversion error before a comma", "x = f(f'{a!x}',\n      b)\n", "3.11", "1:11 f-string: invalid conversion character"},
		{"conversion error in a multi-line call", "x = f(\n    f'{a!x}'\n)\n", "3.11", "3:1 f-string: invalid conversion character"},
		{"empty conversion", "x = (f'{a!}'\n     'b')\n", "3.11", "2:9 f-string: invalid syntax"},
		{"mixed literals across lines", "x = ('a'\n     b'c'\n     'd')\n", "3.11", "3:9 cannot mix bytes and nonbytes literals"},
		{"bad prefix inside brackets", "x = ['a'\n     'b'\n     bf'c']\n", "3.11", "1:6 invalid syntax (string prefix bf"},
		{"ur prefix", "x = ur''\n", "3.11", "1:5 invalid syntax (string prefix ur"},
		{"starred comprehension", "x = [*a for a in b]\n", "3.11", "1:6 iterable unpacking cannot be used in comprehension"},
		{"starred generator", "f(*a for a in b)\n", "3.11", "1:3 iterable unpacking cannot be used in comprehension"},
		{"generic def before 3.12", "def f[T](x): ...\n", "3.11", "1:6 invalid syntax (type parameter lists"},
		{"generic class before 3.12", "class C[T]: ...\n", "3.11", "1:8 invalid syntax (type parameter lists"},
		{"type alias before 3.12", "type X = int\n", "3.11", "1:1 invalid syntax (the type statement"},
		{"assignment through type()", "type(mock).x = 1\ntype (a)[0] = 2\n", "3.11", ""},
		{"generic type alias before 3.12", "type X[T] = list[T]\n", "3.11", "1:1 invalid syntax (the type statement"},
		{"break in an inner loop's else", "for a in b:\n    for c in d:\n        pass\n    else:\n        break\nwhile x:\n    for c in d:\n        pass\n    else:\n        continue\n", "3.11", ""},
		{"break in a loop's else", "for c in d:\n    pass\nelse:\n    break\n", "3.11", "4:5 'break' outside loop"},
		{"PEP 695 from 3.12", "def f[T](x): ...\nclass C[T]: ...\ntype X = int\n", "3.12", ""},
		{"wildcard not last", "match x:\n    case _:\n        pass\n    case 1:\n        pass\n", "3.11", "2:10 wildcard makes remaining patterns unreachable"},
		{"capture not last", "match x:\n    case y:\n        pass\n    case 1:\n        pass\n", "3.11", "2:10 name capture 'y' makes remaining patterns unreachable"},
		{"wildcard in or-pattern", "match x:\n    case _ | 1:\n        pass\n", "3.11", "2:10 wildcard makes remaining patterns unreachable"},
		{"parenthesized wildcard as", "match x:\n    case (_) as z:\n        pass\n    case 1:\n        pass\n", "3.11", "2:11 wildcard makes remaining"},
		{"wildcard alternative inside a sequence", "match v:\n    case [_ | 1, 2]:\n        pass\n", "3.11", "2:11 wildcard makes remaining patterns unreachable"},
		{"capture alternative inside a mapping", "match v:\n    case {\"k\": x | 1}:\n        pass\n", "3.11", "2:16 name capture 'x' makes remaining patterns unreachable"},
		{"alternatives bind different names", "match v:\n    case [x] | [y]:\n        pass\n", "3.11", "2:10 alternative patterns bind different names"},
		{"name bound twice", "match v:\n    case [x, *x]:\n        pass\n", "3.11", "2:15 multiple assignments to name 'x' in pattern"},
		{"name bound twice through as", "match v:\n    case Point(x=y) as y:\n        pass\n", "3.11", "2:24 multiple assignments to name 'y'"},
		{"chained as", "match v:\n    case 1 as y as w:\n        pass\n", "3.11", "2:17 invalid syntax (a second 'as'"},
		{"bindings CPython accepts", "match v:\n    case [x] | (x,) | {\"k\": x}:\n        pass\n    case Point(x=a.b, y=(1 as z) as w) | Point(x=z, y=w):\n        pass\n    case [_, *_] | {\"k\": _} | Point(m=_):\n        pass\n    case (1 | 2) as n:\n        pass\n", "3.11", ""},
		{"guarded capture and last wildcard", "match x:\n    case y if y:\n        pass\n    case a.b | (1, _):\n        pass\n    case _:\n        pass\n", "3.11", ""},
		{"CR line ends", "x = 1\ry = (\r    2)\rdef f():\r    return y\r", "3.11", ""},
		{"CR line ends keep lines", "x = 1\ry = 2\rreturn 3\r", "3.11", "3:1 'return' outside function"},
		{"mixed line ends", "x = 1\r\ny = 2\rz = (\n", "3.11", "3:"},
		{"unknown encoding", "# -*- coding: bogus-enc -*-\nx = 1\n", "3.11", "1:1 unknown encoding: bogus-enc"},
		{"unknown encoding on line 2", "#!/usr/bin/env python3\n# coding=nope\n", "3.11", "2:1 unknown encoding: nope"},
		{"not a text encoding", "# coding: rot13\n", "3.11", "1:1 'rot13' is not a text encoding"},
		{"coding in prose", "# decoding the feed\nx = '\xff'\n", "3.11", "2:1 (unicode error) 'utf-8' codec can't decode byte 0xff"},
		{"declared utf-8", "# coding: UTF_8\nx = '\xff'\n", "3.11", "2:1 (unicode error) 'utf-8' codec can't decode byte 0xff"},
		{"declared ascii", "# coding: us-ascii\nx = '\xc3\xa9'\n", "3.11", "2:1 'ascii' codec can't decode byte 0xc3"},
		{"cookie after code", "x = 1\n# coding: latin-1\ny = '\xff'\n", "3.11", "3:1 (unicode error) 'utf-8' codec"},
		{"cookie in trailing comment", "x = 1  # coding: bogus\n", "3.11", ""},
		{"BOM and latin-1", "\ufeff# coding: latin-1\nx = 1\n", "3.11", "1:1 encoding problem: iso-8859-1 with BOM"},
		{"known encodings", "# vim: set fileencoding=Latin-1 :\nx = '\xff'\n", "3.11", ""},
		{"known encodings second line", "\n# coding: cp1252 and coding: bogus\nx = '\xe9'\n", "3.11", ""},
		{"cookie spelled with a dot", "# coding: ISO_8859.15\nx = '\xa4'\n", "3.11", ""},
		{"else dedented between levels", "if x:\n        y = 1\n    else:\n        pass\n", "3.11", "3:5 unindent does not match any outer indentation level"},
		{"statement dedented between levels", "if x:\n    if y:\n        z = 1\n  z = 2\n", "3.11", "4:3 unindent does not match any outer indentation level"},
		{"method dedented between levels", "class A:\n    def f(self):\n        pass\n   def g(self):\n        pass\n", "3.11", "4:4 unindent does not match"},
		{"except dedented between levels", "try:\n    pass\n  except E:\n    pass\n", "3.11", "3:3 unindent does not match"},
		{"tab then spaces", "if x:\n\tpass\n        pass\n", "3.11", "3:9 inconsistent use of tabs and spaces in indentation"},
		{"spaces then tab", "if x:\n        pass\n\tpass\n", "3.11", "3:2 inconsistent use of tabs and spaces"},
		{"unindent with CRLF", "if x:\r\n    y = 1\r\n  z = 2\r\n", "3.11", "3:3 unindent does not match"},
		{"indent error before a later parse error", "if x:\n    y = 1\n  z = 2\nw = (\n", "3.11", "3:3 unindent does not match"},
		{"parse error before an indent error", "w = )\nif x:\n    y = 1\n  z = 2\n", "3.11", "1:"},
		{"indent error before a late error", "return 1\nif x:\n    y = 1\n  z = 2\n", "3.11", "4:3 unindent does not match"},
		{"def deeper than its decorator", "class A:\n  @dec\n    def f(): pass\n", "3.11", "3:5 unexpected indent"},
		{"decorators and comments", "@dec\n  # c\n@dec2\ndef f(): pass\nclass A:\n    @dec\n      # c\n    def f(self): pass\n", "3.11", ""},
		{"irregular but fine", "x = 1 + \\\n  2\nif x:\n    y = \"\"\"\n  a\n\"\"\"\n  # c\n    z = [\n 1]\nelif w:\n  pass\nelse:\n      pass\nif x: \\\n  y = 1\n\f\nz = 2\n", "3.11", ""},
		{"tabs consistently", "if x:\n\tif y:\n\t        pass\n\telse:\n\t\tpass\n", "3.11", ""},
		// A parse error anywhere wins over a symbol-table error before it,
		// as in CPython, which parses the whole file first.
		{"parse error wins", "return 1\nx = (\n", "3.11", "2:"},
		{"first parse error", "x = 0777\ndef f(**k, *a):\n    pass\n", "3.11", "1:5 leading zeros"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAnalyzer(nil)
			defer a.Close()
			if err := a.SetPythonVersion(tc.py); err != nil {
				t.Fatal(err)
			}
			res := a.File("dags/x.py", []byte(tc.src))
			var got string
			for _, f := range res.Findings {
				if f.Rule == RuleSyntax {
					got = itoa(f.Line) + ":" + itoa(f.Column) + " " + f.Message
					break
				}
			}
			switch {
			case tc.want == "" && got != "":
				t.Errorf("unexpected syntax error %s", got)
			case tc.want != "" && got == "":
				t.Errorf("no syntax error, want %s", tc.want)
			case tc.want != "":
				place, frag, _ := strings.Cut(tc.want, " ")
				if !strings.HasPrefix(got, place) || !strings.Contains(got, frag) {
					t.Errorf("got %s\nwant %s", got, tc.want)
				}
			}
		})
	}
}

func TestPythonVersion(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want int
		ok   bool
	}{{"3.11", 11, true}, {"3.12.4", 12, true}, {" 3.9 ", 9, true}, {"2.7", 0, false}, {"3", 0, false}, {"3.x", 0, false}, {"", 0, false}} {
		got, err := pythonMinor(tc.v)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("pythonMinor(%q) = %d, %v; want %d, ok=%v", tc.v, got, err, tc.want, tc.ok)
		}
	}
}

// TestEncodingNamesSorted: the codec name lists are searched by bisection,
// so an unsorted entry would read as an unknown encoding.
func TestEncodingNamesSorted(t *testing.T) {
	for name, list := range map[string][]string{"text": textEncodings, "non-text": nonTextEncodings, "utf-8": utf8Encodings, "ascii": asciiEncodings} {
		if !sort.StringsAreSorted(list) {
			t.Errorf("%s encodings are not sorted", name)
		}
		for _, n := range list {
			if !hasName(list, n) || normalizeEncoding(n) != n {
				t.Errorf("%s encoding %q cannot be found as written", name, n)
			}
		}
	}
}

// TestLineEndsToLF: lone carriage returns become line feeds, \r\n stays,
// and the caller's bytes are never written.
func TestLineEndsToLF(t *testing.T) {
	for in, want := range map[string]string{"a\rb\r": "a\nb\n", "a\r\nb\r\n": "a\r\nb\r\n", "a\r\nb\rc": "a\r\nb\nc", "abc": "abc", "\r": "\n"} {
		src := []byte(in)
		if got := string(lineEndsToLF(src)); got != want || string(src) != in {
			t.Errorf("lineEndsToLF(%q) = %q (input now %q), want %q", in, got, src, want)
		}
	}
}
