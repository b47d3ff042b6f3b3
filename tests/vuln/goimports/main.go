// Command goimports is the judge of gopush/vuln/imports.py: for each file named on
// standard input (one path a line) it prints one JSON line, {"file", "ok", "imports"}:
// the import paths go/parser reads in ImportsOnly mode, as go/build keeps them. ok is
// false when the parser reports an error or go/build would refuse an import path
// (its isValidImport rule, restated here).
package main

import (
	"bufio"
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"unicode"
)

type result struct {
	File    string   `json:"file"`
	OK      bool     `json:"ok"`
	Imports []string `json:"imports"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		name := in.Text()
		res := result{File: name, OK: true, Imports: []string{}}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil,
			parser.ImportsOnly|parser.SkipObjectResolution)
		if err != nil {
			res.OK = false
		}
		if f != nil {
			for _, spec := range f.Imports {
				path, err := strconv.Unquote(spec.Path.Value)
				if err != nil || !validImport(path) {
					res.OK = false
					break
				}
				res.Imports = append(res.Imports, path)
			}
		}
		if err := out.Encode(res); err != nil {
			os.Exit(1)
		}
	}
}

// validImport is go/build's rule: graphic runes, no space, none of the illegal characters.
func validImport(s string) bool {
	const illegal = `!"#$%&'()*,:;<=>?[\]^{|}` + "`\uFFFD"
	for _, r := range s {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) || strings.ContainsRune(illegal, r) {
			return false
		}
	}
	return s != ""
}
