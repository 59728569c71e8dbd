package mappings

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Set is a loaded set of mappings, one per partner.
type Set struct {
	m map[string]*Mapping
}

// Get returns the partner's mapping, or nil when the partner is unknown.
func (s *Set) Get(partner string) *Mapping {
	if s == nil {
		return nil
	}
	return s.m[partner]
}

// Names returns the partners of the set, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	return keys(s.m)
}

// partnerDirs lists the partner folders under dir. Hidden, _-prefixed and
// testdata folders (Go's fuzz corpus lives in mappings/testdata) are skipped.
func partnerDirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("mappings: read %s: %w", dir, err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") || e.Name() == "testdata" {
			continue
		}
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out, nil
}

// mappingFile returns the mapping file of a partner folder.
func mappingFile(dir, partner string) string {
	return filepath.Join(dir, partner, partner+".yaml")
}

// Load parses, validates and compiles every mapping under dir (one partner
// per sub-folder, one <partner>.yaml each). Errors are a LoadErrors list,
// each printed "file:line:col: message"; other errors (an unreadable folder)
// are returned as they are.
func Load(dir string) (*Set, error) {
	names, err := partnerDirs(dir)
	if err != nil {
		return nil, err
	}
	s := &Set{m: map[string]*Mapping{}}
	var errs LoadErrors
	for _, name := range names {
		m, err := loadPartner(dir, name)
		var le LoadErrors
		switch {
		case errors.As(err, &le):
			errs = append(errs, le...)
		case err != nil:
			return nil, err
		default:
			s.m[name] = m
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

func loadPartner(dir, name string) (*Mapping, error) {
	file := mappingFile(dir, name)
	src, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, LoadErrors{{File: file, Line: 1, Col: 1, Msg: fmt.Sprintf("partner folder %s has no %s.yaml", name, name)}}
	}
	if err != nil {
		return nil, fmt.Errorf("mappings: read %s: %w", file, err)
	}
	return compileFile(file, src)
}
