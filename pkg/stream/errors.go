package stream

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by a source used after shutdown.
var ErrClosed = errors.New("stream: source closed")

// permanentError marks an error that will recur however often the input is retried.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent: the source dead-letters the inputs instead of retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// BatchError reports elements of a batch that failed permanently; every other element was
// handled. The source dead-letters the failed ones and acks the rest.
type BatchError struct {
	Failed map[int]error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("%d elements of the batch failed permanently", len(e.Failed))
}
