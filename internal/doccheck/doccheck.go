package doccheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
)

// Block is one fenced code block of a Markdown file.
type Block struct {
	File      string // path as given to Extract
	Line      int    // line of the opening fence, 1-based
	Lang      string // info string after the fence, e.g. "go"
	Code      string // the lines between the fences
	Directive string // text of a "<!-- doc: ... -->" comment just above the fence
	HasDirect bool   // whether there was such a comment
}

// Skip reports whether the block is marked as not meant to compile, and why.
func (b Block) Skip() (reason string, ok bool) {
	d := strings.TrimSpace(b.Directive)
	if !strings.HasPrefix(d, "skip") {
		return "", false
	}
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(d, "skip"), ":")), true
}

// Extract returns the fenced code blocks of the Markdown file at path. A
// fence is a line starting with three backquotes at the left margin; the
// block ends at the next such line.
func Extract(path string) ([]Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	var blocks []Block
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r")
		if !strings.HasPrefix(line, "```") {
			continue
		}
		b := Block{File: path, Line: i + 1, Lang: strings.TrimSpace(strings.TrimPrefix(line, "```"))}
		b.Directive, b.HasDirect = directiveAbove(lines, i)
		var code []string
		j := i + 1
		for ; j < len(lines) && !strings.HasPrefix(lines[j], "```"); j++ {
			code = append(code, strings.TrimRight(lines[j], "\r"))
		}
		if j == len(lines) {
			return nil, fmt.Errorf("%s:%d: code block never closed", path, i+1)
		}
		b.Code = strings.Join(code, "\n") + "\n"
		blocks = append(blocks, b)
		i = j
	}
	return blocks, nil
}

// directiveAbove returns the text of a "<!-- doc: ... -->" comment that
// ends on the line just above line i.
func directiveAbove(lines []string, i int) (string, bool) {
	if i == 0 || !strings.HasSuffix(strings.TrimSpace(lines[i-1]), "-->") {
		return "", false
	}
	start := i - 1
	for start >= 0 && !strings.Contains(lines[start], "<!--") {
		start--
	}
	if start < 0 {
		return "", false
	}
	text := strings.Join(lines[start:i], "\n")
	text = text[strings.Index(text, "<!--")+len("<!--"):]
	text = strings.TrimSuffix(strings.TrimSpace(text), "-->")
	text = strings.TrimSpace(text)
	if !strings.HasPrefix(text, "doc:") {
		return "", false
	}
	return strings.TrimSpace(strings.TrimPrefix(text, "doc:")), true
}

// imports maps the package names a fragment may use to their import paths.
// A name appears here only if no two packages a doc would use share it.
var imports = map[string]string{
	// wsgate
	"hub":         "github.com/wsgate/wsgate/hub",
	"middleware":  "github.com/wsgate/wsgate/middleware",
	"auth":        "github.com/wsgate/wsgate/auth",
	"origin":      "github.com/wsgate/wsgate/origin",
	"ratelimit":   "github.com/wsgate/wsgate/ratelimit",
	"metrics":     "github.com/wsgate/wsgate/metrics",
	"wstest":      "github.com/wsgate/wsgate/wstest",
	"redisbroker": "github.com/wsgate/wsgate/hub/redisbroker",
	"natsbroker":  "github.com/wsgate/wsgate/hub/natsbroker",
	"redisstore":  "github.com/wsgate/wsgate/hub/redisstore",
	"natsstore":   "github.com/wsgate/wsgate/hub/natsstore",
	"brokertest":  "github.com/wsgate/wsgate/hub/brokertest",
	"storetest":   "github.com/wsgate/wsgate/hub/storetest",
	// third parties
	"chi":        "github.com/go-chi/chi/v5",
	"chimw":      "github.com/go-chi/chi/v5/middleware",
	"echo":       "github.com/labstack/echo/v4",
	"echomw":     "github.com/labstack/echo/v4/middleware",
	"jwt":        "github.com/golang-jwt/jwt/v5",
	"websocket":  "github.com/gorilla/websocket",
	"redis":      "github.com/redis/go-redis/v9",
	"nats":       "github.com/nats-io/nats.go",
	"prometheus": "github.com/prometheus/client_golang/prometheus",
	"promhttp":   "github.com/prometheus/client_golang/prometheus/promhttp",
	"rate":       "golang.org/x/time/rate",
	"proxyproto": "github.com/pires/go-proxyproto",
	// standard library
	"bytes":    "bytes",
	"context":  "context",
	"errors":   "errors",
	"fmt":      "fmt",
	"io":       "io",
	"json":     "encoding/json",
	"log":      "log",
	"net":      "net",
	"http":     "net/http",
	"httptest": "net/http/httptest",
	"netip":    "net/netip",
	"url":      "net/url",
	"os":       "os",
	"signal":   "os/signal",
	"slog":     "log/slog",
	"strconv":  "strconv",
	"strings":  "strings",
	"sync":     "sync",
	"syscall":  "syscall",
	"testing":  "testing",
	"time":     "time",
	"atomic":   "sync/atomic",
	"runtime":  "runtime",
	"exec":     "os/exec",
	"base64":   "encoding/base64",
	"tls":      "crypto/tls",
	"x509":     "crypto/x509",
}

// usedPackages returns the names from imports that src uses as a package:
// an identifier followed by a dot and not itself after a dot. Comments and
// strings do not count.
func usedPackages(src string) []string {
	var s scanner.Scanner
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	s.Init(file, []byte(src), nil, 0)
	seen := map[string]bool{}
	prev, prevLit := token.ILLEGAL, ""
	prevPrev := token.ILLEGAL
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.PERIOD && prev == token.IDENT && prevPrev != token.PERIOD {
			if _, ok := imports[prevLit]; ok {
				seen[prevLit] = true
			}
		}
		prevPrev, prev, prevLit = prev, tok, lit
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Source turns a Go block into the file that compiles it, with //line
// directives so that the compiler reports positions in the Markdown file
// (mdPath, absolute or relative to where go build runs).
func Source(b Block, mdPath string) string {
	if isFile(b.Code) {
		return fmt.Sprintf("//line %s:%d\n%s", mdPath, b.Line+1, b.Code)
	}
	var out strings.Builder
	out.WriteString("package doc\n\n")
	if names := usedPackages(b.Directive + "\n" + b.Code); len(names) > 0 {
		out.WriteString("import (\n")
		for _, n := range names {
			fmt.Fprintf(&out, "\t%s %q\n", n, imports[n])
		}
		out.WriteString(")\n\n")
	}
	if b.Directive != "" {
		fmt.Fprintf(&out, "//line %s:%d\n%s\n\n", mdPath, b.Line-1, b.Directive)
	}
	if declarationsOnly(b.Code) {
		fmt.Fprintf(&out, "//line %s:%d\n%s", mdPath, b.Line+1, b.Code)
		return out.String()
	}
	fmt.Fprintf(&out, "func _() {\n//line %s:%d\n%s", mdPath, b.Line+1, b.Code)
	if names := topLevelNames(b.Code); len(names) > 0 {
		// A fragment is a piece of a longer function: what it declares at
		// its top level would be used further on.
		for _, n := range names {
			fmt.Fprintf(&out, "_ = %s\n", n)
		}
	}
	out.WriteString("}\n")
	return out.String()
}

// topLevelNames returns the variables a function-body fragment declares at
// its top level (with := or var), which the wrapper marks as used.
func topLevelNames(code string) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package doc\nfunc _() {\n"+code+"\n}", parser.SkipObjectResolution)
	if err != nil || len(f.Decls) != 1 {
		return nil
	}
	fn, ok := f.Decls[0].(*ast.FuncDecl)
	if !ok || fn.Body == nil {
		return nil
	}
	var names []string
	add := func(id *ast.Ident) {
		if id.Name != "_" && !slices.Contains(names, id.Name) {
			names = append(names, id.Name)
		}
	}
	for _, st := range fn.Body.List {
		switch st := st.(type) {
		case *ast.AssignStmt:
			if st.Tok == token.DEFINE {
				for _, e := range st.Lhs {
					if id, ok := e.(*ast.Ident); ok {
						add(id)
					}
				}
			}
		case *ast.DeclStmt:
			if gd, ok := st.Decl.(*ast.GenDecl); ok && gd.Tok == token.VAR {
				for _, spec := range gd.Specs {
					for _, id := range spec.(*ast.ValueSpec).Names {
						add(id)
					}
				}
			}
		}
	}
	return names
}

// isFile reports whether code starts with a package clause (after
// comments).
func isFile(code string) bool {
	f, err := parser.ParseFile(token.NewFileSet(), "", code, parser.PackageClauseOnly)
	return err == nil && f.Name != nil
}

// declarationsOnly reports whether code parses as package-level
// declarations.
func declarationsOnly(code string) bool {
	_, err := parser.ParseFile(token.NewFileSet(), "", "package doc\n"+code, parser.SkipObjectResolution)
	return err == nil
}

// MarkdownFiles returns README.md and docs/*.md under root, relative to
// root.
func MarkdownFiles(root string) ([]string, error) {
	files := []string{"README.md"}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	for _, m := range more {
		rel, err := filepath.Rel(root, m)
		if err != nil {
			return nil, err
		}
		files = append(files, rel)
	}
	return files, nil
}

// Link is a relative Markdown link.
type Link struct {
	Line   int
	Target string // path, path#fragment or #fragment
}

var linkRE = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// Links returns the relative links of a Markdown file outside code blocks
// and code spans: those not starting with a scheme.
func Links(path string) ([]Link, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var links []Link
	inFence := false
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		line = codeSpan.ReplaceAllString(line, "")
		for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links = append(links, Link{Line: i + 1, Target: target})
		}
	}
	return links, nil
}

var codeSpan = regexp.MustCompile("`[^`]*`")

// Anchors returns the anchors GitHub gives the headings of a Markdown file.
func Anchors(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	anchors := map[string]bool{}
	inFence := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
			continue
		}
		if inFence || !strings.HasPrefix(line, "#") {
			continue
		}
		heading := strings.TrimLeft(line, "#")
		if !strings.HasPrefix(heading, " ") {
			continue
		}
		anchors[Anchor(heading)] = true
	}
	return anchors, nil
}

// Anchor is GitHub's anchor for a heading: lower case, every character
// that is not a letter, digit, space, '-' or '_' dropped, spaces to '-'.
func Anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
