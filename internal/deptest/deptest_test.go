// Package deptest fails when a package imports what it must not: the emulator must
// not share the product's model, the pure packages must stay pure, and only the
// adapters may touch the cloud SDKs.
package deptest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
		"github.com/aliyun/alibaba-cloud-sdk-go": {"shared/ecsapi", "shared/accountapi"},
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

// adapters may depend on cloud SDKs: they are the boundary. fcwire is the
// functions' wiring (FC runtime SDK); the test helpers stand beside them.
var adapters = []string{"shared/ecsapi", "shared/slsapi", "shared/accountapi", "shared/fcapi", "shared/fcwire", "shared/ledger/ledgertest", "shared/approve/approvetest"}

// sdkPrefixes start every cloud SDK's module path.
var sdkPrefixes = []string{"github.com/aliyun/", "github.com/alibabacloud-go/"}

func isSDK(pkg string) bool {
	return slices.ContainsFunc(sdkPrefixes, func(p string) bool { return strings.HasPrefix(pkg, p) })
}

// sdkDeps runs `go list -deps` on pkgs (import paths or patterns) and returns,
// per package, the cloud SDK packages in its transitive dependencies.
func sdkDeps(t *testing.T, pkgs ...string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range pkgs {
		cmd := exec.Command("go", append([]string{"list", "-deps"}, p)...)
		cmd.Dir = filepath.Join("..", "..")
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", p, err)
		}
		for _, dep := range strings.Fields(string(b)) {
			if isSDK(dep) {
				out[p] = append(out[p], dep)
			}
		}
	}
	return out
}

// corePackages are the packages of shared/ that are not adapters.
func corePackages(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "./shared/...")
	cmd.Dir = filepath.Join("..", "..")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./shared/...: %v", err)
	}
	var core []string
	for _, p := range strings.Fields(string(b)) {
		rel := strings.TrimPrefix(p, module+"/")
		if !slices.Contains(adapters, rel) {
			core = append(core, p)
		}
	}
	return core
}

// The boundary holds all the way down: no core package reaches a cloud SDK,
// directly or through another package (an interface written in an
// adapter's types, a constructor taking an adapter's client).
func TestCoreHasNoSDKInItsDependencies(t *testing.T) {
	core := corePackages(t)
	if len(core) < 15 {
		t.Fatalf("only %d core packages found: the list is wrong", len(core))
	}
	for p, deps := range sdkDeps(t, core...) {
		t.Errorf("%s depends on %d cloud SDK package(s), e.g. %s: only the adapters %v may (move the type into an SDK-free package, or take an interface)", p, len(deps), deps[0], adapters)
	}
}

// The check sees what a direct-import check cannot. A deliberate violation:
// functions/guard imports no ECS SDK package itself, only shared/fcwire,
// which reaches it through shared/ecsapi; checked as if they were core, both
// are caught, the ECS SDK among their dependencies.
func TestSDKDepsCatchesATransitiveViolation(t *testing.T) {
	deps := sdkDeps(t, module+"/shared/fcwire", module+"/functions/guard")
	for _, p := range []string{module + "/shared/fcwire", module + "/functions/guard"} {
		if len(deps[p]) == 0 {
			t.Errorf("%s: no SDK dependency found, but it reaches the SDKs through shared/ecsapi: the check is blind", p)
		}
		if !slices.ContainsFunc(deps[p], func(d string) bool { return strings.HasPrefix(d, "github.com/aliyun/alibaba-cloud-sdk-go/") }) {
			t.Errorf("%s: the ECS SDK it reaches only through shared/ecsapi was not seen: %v", p, deps[p])
		}
	}
}
