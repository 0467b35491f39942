package source

import (
	"cmp"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/document"
	"github.com/ecslogfix/ecslogfix/internal/source/cloudformation"
	"github.com/ecslogfix/ecslogfix/internal/source/taskdoc"
)

// Artifact types of a CDK cloud assembly manifest.
const (
	artifactStack    = "aws:cloudformation:stack"
	artifactAssembly = "cdk:cloud-assembly"
)

// maxAssemblyDepth bounds nested assemblies (stages within stages).
const maxAssemblyDepth = 8

type assemblyReader struct {
	dir   string
	depth int
}

// manifest reads every stack template of a cloud assembly, nested
// assemblies (CDK stages) and nested stack templates included, in a
// stable order. Paths the manifest names must stay inside the assembly.
func (a *assemblyReader) manifest(root *document.Node, name string) ([]Resource, error) {
	arts := root.Get("artifacts")
	if arts == nil || arts.Kind != document.Object {
		return nil, taskdoc.ErrAt(root, "artifacts", "a CDK cloud assembly manifest needs an artifacts object")
	}
	var out []Resource
	for _, f := range arts.Fields {
		typ, _ := f.Value.Get("type").Str()
		props := f.Value.Get("properties")
		path := "artifacts." + f.Key + ".properties"
		switch typ {
		case artifactStack:
			file, err := a.local(props, path, "templateFile")
			if err != nil {
				return nil, err
			}
			res, err := a.template(file, f.Key)
			if err != nil {
				return nil, err
			}
			out = append(out, res...)
		case artifactAssembly:
			if a.depth >= maxAssemblyDepth {
				return nil, taskdoc.ErrAt(f.Value, "artifacts."+f.Key, "cloud assemblies nested more than %d deep", maxAssemblyDepth)
			}
			dir, err := a.local(props, path, "directoryName")
			if err != nil {
				return nil, err
			}
			data, err := readFile(filepath.Join(dir, "manifest.json"))
			if err != nil {
				return nil, taskdoc.WithFile(err, filepath.Join(dir, "manifest.json"))
			}
			inner := &assemblyReader{dir: dir, depth: a.depth + 1}
			res, err := read(filepath.Join(dir, "manifest.json"), data, inner)
			if err != nil {
				return nil, taskdoc.WithFile(err, filepath.Join(dir, "manifest.json"))
			}
			out = append(out, res...)
		}
	}
	nested, err := filepath.Glob(filepath.Join(a.dir, "*.nested.template.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(nested)
	for _, file := range nested {
		res, err := a.template(file, strings.TrimSuffix(filepath.Base(file), ".nested.template.json"))
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// local returns the path named by props[key], which must be relative and
// inside the assembly directory.
func (a *assemblyReader) local(props *document.Node, path, key string) (string, error) {
	v := props.Get(key)
	s, ok := v.Str()
	if !ok || s == "" {
		return "", taskdoc.ErrAt(cmp.Or(v, props), taskdoc.Join(path, key), "expected a file name")
	}
	if !filepath.IsLocal(filepath.FromSlash(s)) {
		return "", taskdoc.ErrAt(v, taskdoc.Join(path, key), "%q is outside the cloud assembly", s)
	}
	return filepath.Join(a.dir, filepath.FromSlash(s)), nil
}

func (a *assemblyReader) template(file, stack string) ([]Resource, error) {
	data, err := readFile(file)
	if err != nil {
		return nil, taskdoc.WithFile(err, file)
	}
	root, err := document.Parse(data)
	if err != nil {
		return nil, taskdoc.WithFile(err, file)
	}
	res, err := cloudformation.Template(root)
	if err != nil {
		return nil, taskdoc.WithFile(err, file)
	}
	for i := range res {
		res[i].File = file
		res[i].Format = taskdoc.FormatCDK
		res[i].Stack = stack
	}
	return res, nil
}

// isAssemblyDir reports whether dir holds a cloud assembly manifest.
func isAssemblyDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "manifest.json"))
	return err == nil
}
