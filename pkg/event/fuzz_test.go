package event

import (
	stdjson "encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// addSeeds adds every file matching the patterns under examplesDir to the fuzz corpus.
func addSeeds(f *testing.F, patterns ...string) {
	f.Helper()
	for _, p := range patterns {
		for _, path := range exampleFiles(f, p) {
			f.Add(readFile(f, path))
		}
	}
}

// checkRejection asserts the error contract: every error is a *FieldError or a
// *ValidationError, and names a field.
func checkRejection(t *testing.T, fn string, data []byte, err error) {
	t.Helper()
	fields := errorFields(err)
	if len(fields) == 0 {
		t.Fatalf("%s(%q) = %T %v, want a *FieldError or *ValidationError", fn, data, err, err)
	}
	for _, f := range fields {
		if f == "" {
			t.Fatalf("%s(%q) = %v, which names an empty field", fn, data, err)
		}
	}
}

// checkAccepted asserts what holds for every accepted input: encoding/json agrees that it is
// JSON, and it survives Marshal and a second decode unchanged.
func checkAccepted[T any](t *testing.T, fn string, data []byte, got *T, decode func([]byte) (*T, error)) {
	t.Helper()
	if !stdjson.Valid(data) {
		t.Fatalf("%s(%q) accepted input that encoding/json.Valid rejects", fn, data)
	}
	enc, err := Marshal(got)
	if err != nil {
		t.Fatalf("Marshal(%s(%q)) = %v", fn, data, err)
	}
	again, err := decode(enc)
	if err != nil {
		t.Fatalf("%s(%q) = %v, want nil error: the encoding of %s(%q)", fn, enc, err, fn, data)
	}
	if diff := cmp.Diff(got, again, roundTripOpts); diff != "" {
		t.Fatalf("%s(Marshal(%s(%q))) mismatch (-first +second):\n%s", fn, fn, data, diff)
	}
}

func FuzzDecode(f *testing.F) {
	addSeeds(f, "valid/*.json", "invalid/*.json")
	decode := func(b []byte) (*Event, error) { return Decoder{}.Decode(b) }
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := decode(data)
		if err != nil {
			if ev != nil {
				t.Fatalf("Decode(%q) = %+v, %v, want a nil event with the error", data, ev, err)
			}
			checkRejection(t, "Decode", data, err)
			return
		}
		checkAccepted(t, "Decode", data, ev, decode)
	})
}

func FuzzDecodeScored(f *testing.F) {
	addSeeds(f, "scored*.json", "valid/minimal.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeScored(data)
		if err != nil {
			checkRejection(t, "DecodeScored", data, err)
			return
		}
		checkAccepted(t, "DecodeScored", data, s, DecodeScored)
	})
}

func FuzzDecodeAlert(f *testing.F) {
	addSeeds(f, "alert*.json", "valid/minimal.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeAlert(data)
		if err != nil {
			checkRejection(t, "DecodeAlert", data, err)
			return
		}
		checkAccepted(t, "DecodeAlert", data, a, DecodeAlert)
	})
}
