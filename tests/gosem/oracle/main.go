// Command oracle answers questions about Go module semantics with the golang.org/x/mod that
// ships inside the go toolchain under test, so gosem's tests compare against Go itself.
//
// Protocol: one JSON request per line on stdin, {"op": "...", "args": ["<base64>", ...]};
// one JSON reply per line on stdout, {"out": ["<base64>", ...], "err": "<base64>"}.
// Strings travel as base64 so that bytes which are not UTF-8 survive the trip.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"go/version"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/dirhash"
)

type request struct {
	Op   string   `json:"op"`
	Args []string `json:"args"`
}

type reply struct {
	Out []string `json:"out"`
	Err string   `json:"err"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			panic(err)
		}
		args := make([]string, len(req.Args))
		for i, a := range req.Args {
			b, err := base64.StdEncoding.DecodeString(a)
			if err != nil {
				panic(err)
			}
			args[i] = string(b)
		}
		res, err := answer(req.Op, args)
		var rep reply
		for _, s := range res {
			rep.Out = append(rep.Out, base64.StdEncoding.EncodeToString([]byte(s)))
		}
		if err != nil {
			rep.Err = base64.StdEncoding.EncodeToString([]byte(err.Error()))
		}
		if err := out.Encode(rep); err != nil {
			panic(err)
		}
	}
}

func boolStr(b bool) string { return strconv.FormatBool(b) }

func answer(op string, a []string) ([]string, error) {
	switch op {
	case "semver.IsValid":
		return []string{boolStr(semver.IsValid(a[0]))}, nil
	case "semver.Canonical":
		return []string{semver.Canonical(a[0])}, nil
	case "semver.Major":
		return []string{semver.Major(a[0])}, nil
	case "semver.MajorMinor":
		return []string{semver.MajorMinor(a[0])}, nil
	case "semver.Prerelease":
		return []string{semver.Prerelease(a[0])}, nil
	case "semver.Build":
		return []string{semver.Build(a[0])}, nil
	case "semver.Compare":
		return []string{strconv.Itoa(semver.Compare(a[0], a[1]))}, nil
	case "module.CheckPath":
		return nil, module.CheckPath(a[0])
	case "module.CheckImportPath":
		return nil, module.CheckImportPath(a[0])
	case "module.CheckFilePath":
		return nil, module.CheckFilePath(a[0])
	case "module.CheckFilePathRunes":
		return filePathRunes(a[0], a[1]), nil
	case "module.SplitPathVersion":
		p, m, ok := module.SplitPathVersion(a[0])
		return []string{p, m, boolStr(ok)}, nil
	case "module.CheckPathMajor":
		return nil, module.CheckPathMajor(a[0], a[1])
	case "module.Check":
		return nil, module.Check(a[0], a[1])
	case "module.CanonicalVersion":
		return []string{module.CanonicalVersion(a[0])}, nil
	case "module.EscapePath":
		s, err := module.EscapePath(a[0])
		return []string{s}, err
	case "module.EscapeVersion":
		s, err := module.EscapeVersion(a[0])
		return []string{s}, err
	case "module.UnescapePath":
		s, err := module.UnescapePath(a[0])
		return []string{s}, err
	case "module.UnescapeVersion":
		s, err := module.UnescapeVersion(a[0])
		return []string{s}, err
	case "module.IsPseudoVersion":
		return []string{boolStr(module.IsPseudoVersion(a[0]))}, nil
	case "module.IsZeroPseudoVersion":
		return []string{boolStr(module.IsZeroPseudoVersion(a[0]))}, nil
	case "module.PseudoVersion":
		sec, err := strconv.ParseInt(a[2], 10, 64)
		if err != nil {
			return nil, err
		}
		return []string{module.PseudoVersion(a[0], a[1], time.Unix(sec, 0), a[3])}, nil
	case "module.PseudoVersionBase":
		s, err := module.PseudoVersionBase(a[0])
		return []string{s}, err
	case "module.PseudoVersionRev":
		s, err := module.PseudoVersionRev(a[0])
		return []string{s}, err
	case "module.PseudoVersionTime":
		t, err := module.PseudoVersionTime(a[0])
		return []string{t.UTC().Format(time.RFC3339)}, err
	case "version.Compare":
		return []string{strconv.Itoa(version.Compare(a[0], a[1]))}, nil
	case "version.IsValid":
		return []string{boolStr(version.IsValid(a[0]))}, nil
	case "version.Lang":
		return []string{version.Lang(a[0])}, nil
	case "dirhash.Hash1":
		return hash1(a)
	case "dirhash.HashZip":
		h, err := dirhash.HashZip(a[0], dirhash.Hash1)
		return []string{h}, err
	case "modfile.Parse", "modfile.ParseLax":
		return parse(op, a[0])
	case "modfile.ModulePath":
		return []string{modfile.ModulePath([]byte(a[0]))}, nil
	}
	return nil, fmt.Errorf("oracle: unknown op %q", op)
}

// filePathRunes returns the runes r for which CheckFilePath(prefix+string(r)+suffix) succeeds,
// as half-open ranges "<first> <end>" in hex, in increasing order.
func filePathRunes(prefix, suffix string) []string {
	var out []string
	start := rune(-1)
	for r := rune(0); r <= unicode.MaxRune+1; r++ {
		ok := r <= unicode.MaxRune && module.CheckFilePath(prefix+string(r)+suffix) == nil
		switch {
		case ok && start < 0:
			start = r
		case !ok && start >= 0:
			out = append(out, fmt.Sprintf("%x %x", start, r))
			start = -1
		}
	}
	return out
}

// hash1 hashes files given as alternating name, content arguments.
func hash1(a []string) ([]string, error) {
	content := map[string]string{}
	var names []string
	for i := 0; i+1 < len(a); i += 2 {
		names = append(names, a[i])
		content[a[i]] = a[i+1]
	}
	h, err := dirhash.Hash1(names, func(name string) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(content[name])), nil
	})
	return []string{h}, err
}

// parse returns the parsed file as one JSON document, in the shape gosem's tests compare.
func parse(op, data string) ([]string, error) {
	parseFn := modfile.Parse
	if op == "modfile.ParseLax" {
		parseFn = modfile.ParseLax
	}
	f, err := parseFn("go.mod", []byte(data), nil)
	if err != nil {
		return nil, err
	}
	doc := map[string]any{"module": "", "deprecated": "", "go": "", "toolchain": ""}
	if f.Module != nil {
		doc["module"], doc["deprecated"] = f.Module.Mod.Path, f.Module.Deprecated
	}
	if f.Go != nil {
		doc["go"] = f.Go.Version
	}
	if f.Toolchain != nil {
		doc["toolchain"] = f.Toolchain.Name
	}
	var list [][]any
	for _, r := range f.Require {
		list = append(list, []any{r.Mod.Path, r.Mod.Version, r.Indirect, r.Syntax.Start.Line})
	}
	doc["require"] = list
	list = nil
	for _, r := range f.Exclude {
		list = append(list, []any{r.Mod.Path, r.Mod.Version, r.Syntax.Start.Line})
	}
	doc["exclude"] = list
	list = nil
	for _, r := range f.Replace {
		list = append(list, []any{r.Old.Path, r.Old.Version, r.New.Path, r.New.Version, r.Syntax.Start.Line})
	}
	doc["replace"] = list
	list = nil
	for _, r := range f.Retract {
		list = append(list, []any{r.Low, r.High, r.Rationale, r.Syntax.Start.Line})
	}
	doc["retract"] = list
	list = nil
	for _, r := range f.Godebug {
		list = append(list, []any{r.Key, r.Value, r.Syntax.Start.Line})
	}
	doc["godebug"] = list
	list = nil
	for _, r := range f.Tool {
		list = append(list, []any{r.Path, r.Syntax.Start.Line})
	}
	doc["tool"] = list
	list = nil
	for _, r := range f.Ignore {
		list = append(list, []any{r.Path, r.Syntax.Start.Line})
	}
	doc["ignore"] = list
	b, err := json.Marshal(doc)
	return []string{string(b)}, err
}
