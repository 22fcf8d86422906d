package event

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is one rejection: the field (a JSON path such as "context[2].id", or "(event)" for
// the whole body) and a reason a person can act on.
type FieldError struct {
	Field  string
	Reason string
	err    error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns the underlying decoding error, if any.
func (e *FieldError) Unwrap() error { return e.err }

// ValidationError lists every field that failed validation.
type ValidationError struct {
	Fields []*FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return "invalid event: " + strings.Join(parts, "; ")
}

// Unwrap exposes the individual field errors to errors.Is and errors.As.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Fields))
	for i, f := range e.Fields {
		errs[i] = f
	}
	return errs
}

// problems accumulates field errors during validation.
type problems []*FieldError

func (p *problems) add(field, reason string) {
	*p = append(*p, &FieldError{Field: field, Reason: reason})
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Fields: p}
}

// prefixFields returns err with every field it names put under prefix ("records[2]."), for errors
// of a value nested in a larger body.
func prefixFields(prefix string, err error) error {
	var verr *ValidationError
	var ferr *FieldError
	switch {
	case errors.As(err, &verr):
		out := &ValidationError{Fields: make([]*FieldError, len(verr.Fields))}
		for i, f := range verr.Fields {
			out.Fields[i] = &FieldError{Field: prefix + f.Field, Reason: f.Reason, err: f.err}
		}
		return out
	case errors.As(err, &ferr):
		return &FieldError{Field: prefix + ferr.Field, Reason: ferr.Reason, err: ferr.err}
	}
	return fmt.Errorf("%s: %w", strings.TrimSuffix(prefix, "."), err)
}
