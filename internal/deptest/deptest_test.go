// Package deptest fails when a package imports what it must not: the emulator must
// not share the product's model, the pure packages must stay pure, and only the
// adapters may touch the cloud SDKs.
package deptest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/porthygiene/porthygiene"

type fileImports struct {
	path    string
	imports []string
	src     string
}

func scan(t *testing.T, dir string) []fileImports {
	t.Helper()
	root := filepath.Join("..", "..", dir)
	var out []fileImports
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		fi := fileImports{path: p, src: string(src)}
		for _, imp := range f.Imports {
			s, _ := strconv.Unquote(imp.Path.Value)
			fi.imports = append(fi.imports, s)
		}
		out = append(out, fi)
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", dir, err)
	}
	return out
}

func TestLocalcloudDoesNotImportShared(t *testing.T) {
	// An emulator that shared the product's rule model would share its bugs,
	// and the tests would pass for the wrong reason.
	for _, f := range scan(t, "localcloud") {
		for _, imp := range f.imports {
			if strings.HasPrefix(imp, module+"/shared") {
				t.Errorf("%s imports %s: localcloud must not import the product's shared packages", f.path, imp)
			}
		}
	}
}

func TestOnlyAdaptersImportCloudSDKs(t *testing.T) {
	allowed := map[string][]string{
		"github.com/aliyun/alibaba-cloud-sdk-go": {"shared/ecsapi"},
		"github.com/aliyun/aliyun-log-go-sdk":    {"shared/slsapi"},
	}
	for _, f := range scan(t, "shared") {
		for _, imp := range f.imports {
			for sdk, pkgs := range allowed {
				if !strings.HasPrefix(imp, sdk) {
					continue
				}
				ok := false
				for _, p := range pkgs {
					if strings.Contains(filepath.ToSlash(f.path), "/"+p+"/") {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s imports %s: only %v may import that SDK (domain code must stay SDK-free)", f.path, imp, pkgs)
				}
			}
		}
	}
}

func TestPurePackagesStayPure(t *testing.T) {
	// The evaluator and the rule model take time as an input and do no I/O.
	banned := []string{"net/http", "os", "log", "log/slog", "io/ioutil", "github.com/aliyun"}
	for _, dir := range []string{"shared/rule", "shared/exposure"} {
		for _, f := range scan(t, dir) {
			if strings.HasSuffix(f.path, "_test.go") {
				continue
			}
			for _, imp := range f.imports {
				for _, b := range banned {
					if imp == b || strings.HasPrefix(imp, b+"/") {
						t.Errorf("%s imports %s: %s must stay pure", f.path, imp, dir)
					}
				}
			}
			if strings.Contains(f.src, "time.Now(") {
				t.Errorf("%s calls time.Now: %s takes now as an input", f.path, dir)
			}
		}
	}
}
