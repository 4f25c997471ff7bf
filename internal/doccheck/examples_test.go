package doccheck

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// exampleFunc is the start of an example function in a test file.
var exampleFunc = regexp.MustCompile(`(?m)^func Example\w*\(\)`)

// Every public package (not internal, not a main package, in any module of
// the repository) has an example in its tests, so that its go doc shows
// the package in use.
func TestEveryPublicPackageHasExample(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	checked := 0
	err := filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		switch name := d.Name(); {
		case dir == root:
		case strings.HasPrefix(name, ".") || name == "testdata" || name == "internal" || name == "examples":
			return filepath.SkipDir
		}
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return err
		}
		pkg, hasExample := "", false
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				data, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				hasExample = hasExample || exampleFunc.Match(data)
				continue
			}
			if pkg == "" {
				file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly)
				if err != nil {
					return err
				}
				pkg = file.Name.Name
			}
		}
		if pkg == "" || pkg == "main" {
			return nil
		}
		checked++
		if !hasExample {
			rel, _ := filepath.Rel(root, dir)
			t.Errorf("package %s (%s) has no Example function in its tests", pkg, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked %d packages; the walk is broken", checked)
	}
}
