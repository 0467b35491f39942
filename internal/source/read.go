package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ecslogfix/ecslogfix/internal/document"
	"github.com/ecslogfix/ecslogfix/internal/source/cloudformation"
	"github.com/ecslogfix/ecslogfix/internal/source/taskdoc"
)

// File is what one input holds: its task definitions, or why it could not
// be read.
type File struct {
	Name      string
	Resources []Resource
	Err       error // an *Error naming the problem
}

// Read reads one document's content. name labels resources and errors.
// A CDK cloud assembly manifest needs its directory: use ReadPath.
func Read(name string, data []byte) File {
	res, err := read(name, data, nil)
	return File{Name: name, Resources: res, Err: taskdoc.WithFile(err, name)}
}

// ReadReader is Read from a stream, with the size cap applied while
// reading.
func ReadReader(name string, r io.Reader) File {
	data, err := readCapped(r)
	if err != nil {
		return File{Name: name, Err: taskdoc.WithFile(err, name)}
	}
	return Read(name, data)
}

func readCapped(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, taskdoc.MaxBytes+1))
	if err != nil {
		return nil, &Error{Msg: fmt.Sprintf("read: %v", err)}
	}
	if len(data) > taskdoc.MaxBytes {
		return nil, &Error{Msg: fmt.Sprintf("larger than the %d MiB limit per file", taskdoc.MaxBytes>>20)}
	}
	return data, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{Msg: "no such file"}
		}
		return nil, &Error{Msg: fmt.Sprintf("read: %v", unwrapPathError(err))}
	}
	defer f.Close()
	return readCapped(f)
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// read parses data and dispatches on what it is; assembly reads the
// templates of a CDK manifest (nil: none expected).
func read(name string, data []byte, assembly *assemblyReader) ([]Resource, error) {
	root, err := document.Parse(data)
	if err != nil {
		return nil, err
	}
	k, err := recognise(root)
	if err != nil {
		return nil, err
	}
	var out []Resource
	switch k {
	case kindTaskDefinition:
		var r Resource
		if r, err = taskdoc.ReadTaskDefinition(root); err == nil {
			out = []Resource{r}
		}
	case kindCloudFormation:
		out, err = cloudformation.Template(root)
	case kindTerraformPlan:
		out, err = plan(root)
	case kindCDKManifest:
		if assembly == nil {
			return nil, taskdoc.ErrAt(root, "", "a CDK cloud assembly manifest: give its directory or the manifest.json file itself")
		}
		return assembly.manifest(root, name)
	}
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].File = name
	}
	return out, nil
}

// ReadPath reads a file, "-" for standard input, or a directory: a CDK
// cloud assembly (it holds manifest.json) or a tree walked for *.json,
// *.yaml, *.yml and *.template files. In a walked tree, a document that is
// none of the formats (package.json, say) is skipped; one that is broken
// is reported.
func ReadPath(path string, stdin io.Reader) []File {
	if path == "-" {
		return []File{ReadReader("-", stdin)}
	}
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return []File{{Name: path, Err: &Error{File: path, Msg: "no such file"}}}
		}
		return []File{{Name: path, Err: &Error{File: path, Msg: fmt.Sprintf("read: %v", unwrapPathError(err))}}}
	}
	if !info.IsDir() {
		return []File{readPathFile(path)}
	}
	if isAssemblyDir(path) {
		return []File{readAssemblyDir(path)}
	}
	var files []File
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			files = append(files, File{Name: p, Err: &Error{File: p, Msg: fmt.Sprintf("read: %v", unwrapPathError(err))}})
			return nil
		}
		if d.IsDir() {
			if p != path && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
				return fs.SkipDir
			}
			if p != path && isAssemblyDir(p) {
				files = append(files, readAssemblyDir(p))
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !slices.Contains([]string{".json", ".yaml", ".yml", ".template"}, strings.ToLower(filepath.Ext(p))) {
			return nil
		}
		f := readPathFile(p)
		if NotRecognised(f.Err) {
			return nil
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		files = append(files, File{Name: path, Err: &Error{File: path, Msg: err.Error()}})
	}
	return files
}

func readPathFile(path string) File {
	data, err := readFile(path)
	if err != nil {
		return File{Name: path, Err: taskdoc.WithFile(err, path)}
	}
	var a *assemblyReader
	if filepath.Base(path) == "manifest.json" {
		a = &assemblyReader{dir: filepath.Dir(path)}
	}
	res, err := read(path, data, a)
	return File{Name: path, Resources: res, Err: taskdoc.WithFile(err, path)}
}

func readAssemblyDir(dir string) File {
	return readPathFile(filepath.Join(dir, "manifest.json"))
}
