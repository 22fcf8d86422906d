package scoring

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Contracts is a concurrency-safe registry of named JSON Schemas that structured outputs must
// follow; event.Event.OutputSchema names one. Schemas without "$schema" are read as draft
// 2020-12, "format" is asserted, and references outside the schema itself are not loaded.
type Contracts struct {
	mu      sync.RWMutex
	schemas map[string]*jsonschema.Schema
}

// NewContracts returns an empty registry.
func NewContracts() *Contracts {
	return &Contracts{schemas: make(map[string]*jsonschema.Schema)}
}

// Add compiles schema and registers it under name, replacing any contract of that name. Checks
// built earlier see the change on their next event. The error names the contract.
func (c *Contracts) Add(name string, schema []byte) error {
	sch, err := compileContract(name, schema)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.schemas[name] = sch
	c.mu.Unlock()
	return nil
}

// LoadDir adds every *.json file in dir (not its subdirectories) as a contract named after the
// file without ".json". It is all or nothing: when any file fails, no contract is added and the
// error lists every failing file.
func (c *Contracts) LoadDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("load contracts: %w", err)
	}
	loaded := make(map[string]*jsonschema.Schema)
	var errs []error
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("load contract %q: %w", name, err))
			continue
		}
		sch, err := compileContract(name, data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w (file %s)", err, path))
			continue
		}
		loaded[name] = sch
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	c.mu.Lock()
	for name, sch := range loaded {
		c.schemas[name] = sch
	}
	c.mu.Unlock()
	return nil
}

// lookup returns the compiled contract called name. It is safe on a nil registry.
func (c *Contracts) lookup(name string) (*jsonschema.Schema, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	sch, ok := c.schemas[name]
	return sch, ok
}

func compileContract(name string, schema []byte) (*jsonschema.Schema, error) {
	if name == "" {
		return nil, errors.New("compile contract: empty name")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, fmt.Errorf("parse contract %q: %w", name, err)
	}
	// A fresh compiler per contract keeps contracts independent; with no URL loader set, a
	// reference to another document fails at compile time instead of reading files or the network.
	comp := jsonschema.NewCompiler()
	comp.DefaultDraft(jsonschema.Draft2020)
	comp.AssertFormat()
	loc := "https://vigil.invalid/contracts/" + url.PathEscape(name) + ".json"
	if err := comp.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("compile contract %q: %w", name, err)
	}
	sch, err := comp.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("compile contract %q: %w", name, err)
	}
	return sch, nil
}
