package mqtt

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeExampleBuilds builds the README's Go example as a program of
// its own, against this module.
func TestReadmeExampleBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```go\n(package main\n.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no ```go block holding a package main")
	}
	dir := t.TempDir()
	root, _ := os.Getwd()
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	gomod := "module readme\n\ngo 1.22\n\nrequire github.com/ternmq/mqtt v0.0.0\n\nreplace github.com/ternmq/mqtt => " + root + "\n"
	for name, data := range map[string][]byte{"main.go": m[1], "go.mod": []byte(gomod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-mod=mod", "-o", os.DevNull, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README example does not build: %v\n%s\n%s", err, out, strings.TrimSpace(string(m[1])))
	}
}
