package event

import "strings"

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
