// Command buildkitd_keys lists every key of buildkitd's config file, read from the Go source of its config types
// (cmd/buildkitd/config.Config in a buildkit module directory), one `path<TAB>kind` line each, sorted.
//
//	go run scripts/buildkitd_keys.go "$(go env GOMODCACHE)/github.com/moby/buildkit@v0.29.0"
//
// Paths: `a.b` for tables, `a[].b` for arrays of tables, `a.*.b` for maps, `"x.y"` for keys holding a dot.
// Kinds: bool, string, int, strings, size (DiskSpace), duration (Duration), any (map[string]any), and
// external:PKG.TYPE for a type outside the parsed packages. Standard library only, so `go run` needs no module.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// The packages Config reaches, by the import path suffix its files use, relative to the module root.
var packages = map[string]string{
	"config":         "cmd/buildkitd/config",
	"resolverconfig": "util/resolver/config",
	"ghatypes":       "cache/remotecache/gha/ghatypes",
}

type pkgTypes map[string]ast.Expr

var types = map[string]pkgTypes{}
var out []string

func load(root, name, dir string) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, filepath.Join(root, dir), func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go") && !strings.HasSuffix(fi.Name(), "_windows.go")
	}, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	t := pkgTypes{}
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok {
					continue
				}
				for _, s := range g.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok {
						t[ts.Name.Name] = ts.Type
					}
				}
			}
		}
	}
	types[name] = t
}

func key(name string) string {
	if strings.Contains(name, ".") {
		return strconv.Quote(name)
	}
	return name
}

func join(prefix, name string) string {
	if prefix == "" {
		return key(name)
	}
	return prefix + "." + key(name)
}

// walk emits the keys of a value of type e at path, e being written in package pkg.
func walk(pkg string, e ast.Expr, path string) {
	switch t := e.(type) {
	case *ast.StarExpr:
		walk(pkg, t.X, path)
	case *ast.Ident:
		switch t.Name {
		case "bool", "string":
			out = append(out, path+"\t"+t.Name)
		case "int", "int64", "uint32", "int32":
			out = append(out, path+"\tint")
		case "Duration":
			out = append(out, path+"\tduration")
		case "DiskSpace":
			out = append(out, path+"\tsize")
		default:
			def, ok := types[pkg][t.Name]
			if !ok {
				out = append(out, path+"\tunknown:"+t.Name)
				return
			}
			walk(pkg, def, path)
		}
	case *ast.SelectorExpr:
		other := t.X.(*ast.Ident).Name
		if _, ok := types[other]; !ok {
			out = append(out, path+"\texternal:"+other+"."+t.Sel.Name)
			return
		}
		walk(other, t.Sel, path)
	case *ast.ArrayType:
		if id, ok := t.Elt.(*ast.Ident); ok && id.Name == "string" {
			out = append(out, path+"\tstrings")
			return
		}
		walk(pkg, t.Elt, path+"[]")
	case *ast.MapType:
		if id, ok := t.Value.(*ast.Ident); ok && id.Name == "any" {
			out = append(out, path+"\tany")
			return
		}
		walk(pkg, t.Value, path+".*")
	case *ast.StructType:
		for _, f := range t.Fields.List {
			tag := ""
			if f.Tag != nil {
				s, _ := strconv.Unquote(f.Tag.Value)
				tag = strings.Split(reflect.StructTag(s).Get("toml"), ",")[0]
			}
			if tag == "-" {
				continue
			}
			if len(f.Names) == 0 && tag == "" {
				walk(pkg, f.Type, path) // embedded: its keys are the parent's (go-toml flattens it)
				continue
			}
			for _, n := range f.Names {
				if !n.IsExported() {
					continue
				}
				name := tag
				if name == "" {
					name = n.Name
				}
				walk(pkg, f.Type, join(path, name))
			}
		}
	default:
		out = append(out, fmt.Sprintf("%s\tunknown:%T", path, e))
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run scripts/buildkitd_keys.go BUILDKIT_MODULE_DIR")
		os.Exit(2)
	}
	for name, dir := range packages {
		load(os.Args[1], name, dir)
	}
	walk("config", &ast.Ident{Name: "Config"}, "")
	sort.Strings(out)
	for _, l := range out {
		fmt.Println(l)
	}
}
