package main

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// coreName is the file name of the CLI linked to libtensorflow, beside the launcher.
const coreName = "nnclr-tf"

const remedy = "run `make setup` in the nnclr checkout, or point the build at your own libtensorflow with `NNCLR_TF_PREFIX=/usr/local make setup`"

// loaderSearch describes where the dynamic loader looks, beyond a binary's own RUNPATH/RPATH.
// The zero value reads LD_LIBRARY_PATH and `ldconfig -p` and uses the standard directories.
type loaderSearch struct {
	libraryPath []string          // LD_LIBRARY_PATH entries; nil: read the environment
	cache       map[string]string // soname → path from ld.so.cache; nil: ask ldconfig -p
	noDefaults  bool              // skip /lib, /usr/lib and their multiarch twins (tests)
}

// checkTensorFlowLibs checks that every TensorFlow library binary needs, directly or through
// another TensorFlow library, is found where the loader looks and is a shared object for the
// same machine. The error is one line naming the library and what to do.
func checkTensorFlowLibs(binary string, ls loaderSearch) error {
	bf, err := elf.Open(binary)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s is missing: %s", binary, remedy)
		}
		return fmt.Errorf("%s: not an ELF executable: %v", binary, err)
	}
	defer bf.Close()
	if ls.libraryPath == nil {
		ls.libraryPath = filepath.SplitList(os.Getenv("LD_LIBRARY_PATH"))
	}
	if ls.cache == nil {
		ls.cache = ldconfigCache()
	}
	seen := map[string]bool{}
	var walk func(path string, f *elf.File) error
	walk = func(path string, f *elf.File) error {
		needed, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("%s: reading its needed libraries: %v", path, err)
		}
		for _, lib := range needed {
			if !strings.Contains(lib, "tensorflow") || seen[lib] {
				continue
			}
			seen[lib] = true
			dirs := searchDirs(path, f, ls)
			found := ""
			for _, d := range dirs {
				if p := filepath.Join(d, lib); fileExists(p) {
					found = p
					break
				}
			}
			if found == "" {
				found = ls.cache[lib]
			}
			if found == "" {
				return fmt.Errorf("cannot find %s, needed by %s (searched %s and the ld.so cache): %s",
					lib, filepath.Base(path), strings.Join(dirs, ":"), remedy)
			}
			lf, err := elf.Open(found)
			if err != nil {
				return fmt.Errorf("cannot load %s (%s): not a shared library: %v: %s", lib, found, err, remedy)
			}
			if lf.Type != elf.ET_DYN || lf.Machine != bf.Machine || lf.Class != bf.Class {
				lf.Close()
				return fmt.Errorf("cannot load %s (%s): %s %s %s, want a %s %s shared library: %s",
					lib, found, lf.Class, lf.Machine, lf.Type, bf.Class, bf.Machine, remedy)
			}
			err = walk(found, lf)
			lf.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	return walk(binary, bf)
}

// searchDirs lists the directories the loader searches for the needs of the object at path.
func searchDirs(path string, f *elf.File, ls loaderSearch) []string {
	var dirs []string
	origin := filepath.Dir(path)
	add := func(tag elf.DynTag) {
		vals, _ := f.DynString(tag)
		for _, v := range vals {
			for _, d := range filepath.SplitList(v) {
				d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", origin), "$ORIGIN", origin)
				if d != "" {
					dirs = append(dirs, d)
				}
			}
		}
	}
	add(elf.DT_RPATH)
	for _, d := range ls.libraryPath {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	add(elf.DT_RUNPATH)
	if !ls.noDefaults {
		dirs = append(dirs, "/lib", "/usr/lib", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64")
	}
	return dirs
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// ldconfigCache maps sonames to paths as `ldconfig -p` lists them; empty when ldconfig is absent.
func ldconfigCache() map[string]string {
	m := map[string]string{}
	for _, bin := range []string{"/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"} {
		out, err := exec.Command(bin, "-p").Output()
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(out), "\n") {
			// "\tlibfoo.so.1 (libc6,x86-64) => /usr/lib/libfoo.so.1"
			name, rest, ok := strings.Cut(strings.TrimSpace(line), " ")
			if !ok {
				continue
			}
			if _, p, ok := strings.Cut(rest, "=> "); ok {
				if _, dup := m[name]; !dup {
					m[name] = strings.TrimSpace(p)
				}
			}
		}
		break
	}
	return m
}
