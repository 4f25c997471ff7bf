package doccheck

import (
	"fmt"
	"go/parser"
	"go/scanner"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
	fmt.Fprintf(&out, "func _() {\n//line %s:%d\n%s}\n", mdPath, b.Line+1, b.Code)
	return out.String()
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
