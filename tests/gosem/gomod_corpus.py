"""Representative go.mod files: every directive, block and comment form, and many mistakes.

Tests feed each file to gosem.gomod and to Go (x/mod and ``go mod edit -json``) and compare.
"""

from __future__ import annotations

FULL = """// Deprecated: use example.com/m/v2 instead.
module example.com/m

go 1.22.0

toolchain go1.23.4

godebug default=go1.21

godebug (
\tpanicnil=1
\thttp2client=0 // keep http/1
)

require (
\tgolang.org/x/text v0.14.0 // indirect
\t"rsc.io/quote/v3" v3.1.0
\tgopkg.in/yaml.v2 v2.4.0 // indirect; via something
\texample.com/short v1.2
)

require example.com/single v1.0.0-rc.1

exclude example.com/bad v1.1.0

exclude (
\texample.com/bad v1.2.0
\texample.com/bad/v3 v3.0.0
)

replace example.com/old => ../old

replace (
\texample.com/a v1.0.0 => example.com/b v1.1.0
\texample.com/c => /abs/path
\texample.com/d v1.0.0 => ./local
)

// Published by mistake.
retract v1.0.0

retract [v1.1.0, v1.2.0] // broken build

retract (
\t// Security issue.
\tv1.3.0
\t[v1.4.0, v1.4.5]
)

tool example.com/m/cmd/gen

tool (
\tgolang.org/x/tools/cmd/stringer
)

ignore ./node_modules

ignore (
\tthird_party/big
)
"""

VALID = [
    FULL,
    "module example.com/m\n",
    "module example.com/m",
    "module \"example.com/m\"\n",
    "module example.com/m // trailing\r\ngo 1.21\r\n",
    "",
    "// only a comment\n",
    "\n\n\n",
    "go 1.21rc1\n",
    "module example.com/m\ngo 1.21.0rc1\n",
    "module (\n\texample.com/m\n)\n",
    "module example.com/m\nrequire ()\n",
    "module example.com/m\nrequire (\n)\n",
    "module example.com/m\n\n// Deprecated: first para\n// still first\n//\n// other\nrequire x.y/z v1.0.0\n",
    "// Comment.\n//\n// Deprecated: gone\n//\n// More.\nmodule example.com/m\n",
    "// Deprecated: not attached\n\nmodule example.com/m\n",
    "module example.com/m // Deprecated: on the line\n",
    "module example.com/m\nretract (\n\t// group reason\n\tv1.0.0\n)\n",
    "module example.com/m\n// block reason\nretract (\n\tv1.0.0\n\tv1.1.0 // own\n)\n",
    "module example.com/m\nretract notaversion\n",
    "module example.com/m\nretract \"v1.0.0\"\n",
    "module example.com/m\nreplace x.y/z => C:dir\n",
    "module example.com/m\nrequire x.y/z v1.0.0+incompatible\n",
    "module example.com/m\nrequire x.y/z v2.0.0+incompatible\n",
    "module example.com/m\nrequire gopkg.in/check.v1 v0.0.0-20161208181325-20d25e280405\n",
    "module example.com/m\nrequire x.y/z v1.0.0 // indirect\nrequire x.y/w v1.0.0 //indirect\n",
    "module example.com/m\nrequire x.y/z v1.0.0 // indirect extra\n",
    "module example.com/m\ngodebug x=\n",
    "module example.com/m\ntoolchain default\n",
    "module example.com/m\ntoolchain go1\n",
    "module example.com/m\nrequire (\n\tx.y/z v1.0.0 // a\n\t// b\n) // c\n",
    "module example.com/m\nrequire (\n\tx.y/z v1.0.0\n\n\t// gap\n\n\tx.y/w v1.0.0\n\n)\n",
    "module Example.com/UPPER\n",
    "module not-a-valid-path\n",
    "module example.com/m\nexclude x.y/z v1\n",
    "module example.com/m\nrequire \"x.y/\\u007a\" v1.0.0\n",
    "module example.com/m\ntool ./cmd/x\nignore \"dir with space\"\n",
    "module example.com/m\nrequire x.y/z v1.0.0\nrequire x.y/z v1.1.0\n",
]

INVALID = [
    "module example.com/m\nreplace x.y/z v1.0.0 => C:\\\\dir\n",
    "module example.com/m\nrequire x.y/z v1.0.0 ( y )\n",
    "module example.com/m\nmodule example.com/n\n",
    "module\n",
    "module a b\n",
    "module 'x'\n",
    "module `example.com/m`\n",
    "module \"example.com/m\n",
    "module \"bad\\q\"\n",
    "go 1.21\ngo 1.22\n",
    "go\n",
    "go 1.21 extra\n",
    "go 1.21-foo\n",
    "go v1.21\n",
    "go 1\n",
    "go 1.021\n",
    "go \"1.21\"\n",
    "toolchain 1.21\n",
    "toolchain go1.21\ntoolchain go1.22\n",
    "toolchain\n",
    "godebug\n",
    "godebug nokey\n",
    "godebug a=1 b=2\n",
    "godebug \"a=1\"\n",
    "require x.y/z\n",
    "require x.y/z v1.0.0 extra\n",
    "require x.y/z latest\n",
    "require x.y/z/v2 v1.0.0\n",
    "require x.y/z v2.0.0\n",
    "require x.y/z/v1 v1.0.0\n",
    "require x.y/z 'v1'\n",
    "exclude x.y/z\n",
    "replace x.y/z\n",
    "replace x.y/z => x.y/w\n",
    "replace x.y/z => x.y/w@v1.0.0\n",
    "replace x.y/z => ..\\\\windows\\\\dir\n",
    "replace x.y/z => ./dir v1.0.0\n",
    "replace x.y/z v1.0.0 x.y/w v1.0.0\n",
    "replace x.y/z/v1 => ./dir\n",
    "replace x.y/z v2.0.0 => ./dir\n",
    "replace x.y/z => x.y/w bad\n",
    "retract\n",
    "retract (\n\t(\n)\n",
    "retract [\n",
    "retract [v1.0.0\n",
    "retract [v1.0.0 v1.1.0]\n",
    "retract [v1.0.0,\n",
    "retract [v1.0.0, v1.1.0\n",
    "retract v1.0.0 extra\n",
    "retract 'v1'\n",
    "tool\n",
    "tool a b\n",
    "ignore\n",
    "ignore 'x'\n",
    "unknown directive\n",
    "unknown (\n\tx\n)\n",
    "require x.y (\n\tz v1\n)\n",
    "go (\n\t1.21\n)\n",
    "toolchain (\n\tgo1.21\n)\n",
    "module example.com/m /* c */\n",
    "/* c */\n",
    "module example.com/m\nrequire (\n\tx.y/z v1.0.0\n",
    "require (\n\tx.y/z v1.0.0\n) x\n",
    "module \x01\n",
    "module example.com/m\n\x0bgo 1.21\n",
    "module a\u00a0b\n",
    "module \"unterminated",
    "module \"a\\",
    "module example.com/m\nrequire x.y/z v1.0.0\nfoo\nbar baz\n",
    "\tunknown\n",
    "module example.com/m\n  require x.y/z bad\n",
]
