package scoring

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/vigilhq/vigil/pkg/event"
)

func init() {
	RegisterInfo(Info{
		Name: "json_schema", Kind: event.KindCheck,
		Description: "Does a structured output follow its contract (a JSON Schema named by output_schema)?",
		Applies:     "output_schema is set; status is not error",
		Fails:       "the contract is unknown, the output is not JSON or violates the contract",
	}, func(env Env, _ Params) (Check, error) {
		if env.Contracts == nil {
			return nil, errors.New("no contracts registry")
		}
		return jsonSchema{contracts: env.Contracts}, nil
	})
}

// english renders validation messages; the validator needs a printer for them.
var english = message.NewPrinter(language.English)

// maxSchemaReason bounds the length, in runes, of a json_schema reason.
const maxSchemaReason = maxReason

// jsonSchema is the "json_schema" check: does a structured output follow its contract?
//
// Inputs: Output, OutputSchema (the contract name). Applies when OutputSchema is set and the status
// is not "error".
// Output: value 1 and pass when the output is JSON that validates against the contract. Otherwise
// value 0, fail, and label "unknown_contract" (no contract of that name is registered),
// "invalid_json" (the output does not parse; json_valid says where) or "schema_violation"; for a
// violation the reason names the JSON pointer of the first failing value (ordered by location)
// and what is wrong with it.
// Parameters: the Contracts registry from Env; it is consulted on every event, so contracts added
// later apply without rebuilding the check.
type jsonSchema struct {
	contracts *Contracts
}

var _ Check = jsonSchema{}

func (jsonSchema) Name() string     { return "json_schema" }
func (jsonSchema) Kind() event.Kind { return event.KindCheck }

func (c jsonSchema) Score(in *Input) (event.Score, bool) {
	ev := in.Event()
	if !hasOutput(ev) || ev.OutputSchema == "" {
		return event.Score{}, false
	}
	sc := event.Score{Metric: c.Name(), Kind: c.Kind()}
	name := ev.OutputSchema
	sch, ok := c.contracts.lookup(name)
	if !ok {
		sc.Label = "unknown_contract"
		sc.Reason = clip(fmt.Sprintf("No contract named %q is registered; add %s.json to the contracts directory so outputs can be validated.", name, strings.ToValidUTF8(name, "\uFFFD")), maxSchemaReason)
		return sc, true
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(ev.Output))
	if err != nil {
		sc.Label = "invalid_json"
		sc.Reason = clip(fmt.Sprintf("Output is not valid JSON, so contract %q cannot be checked; see json_valid for the parse error.", name), maxSchemaReason)
		return sc, true
	}
	var verr *jsonschema.ValidationError
	switch err := sch.Validate(doc); {
	case err == nil:
		sc.Value, sc.Pass = 1, true
	case errors.As(err, &verr):
		leaf := firstLeaf(verr)
		sc.Label = "schema_violation"
		sc.Reason = clip(fmt.Sprintf("Output violates contract %q at %s: %s.", name, pointer(leaf.InstanceLocation), leafMessage(leaf)), maxSchemaReason)
	default:
		sc.Label = "schema_violation"
		sc.Reason = clip(fmt.Sprintf("Output violates contract %q: %v.", name, err), maxSchemaReason)
	}
	return sc, true
}

// firstLeaf returns the most specific error of the tree, choosing by instance location because the
// validator walks objects in map order.
func firstLeaf(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return e
	}
	var best *jsonschema.ValidationError
	for _, cause := range e.Causes {
		leaf := firstLeaf(cause)
		if best == nil || compareLocations(leaf.InstanceLocation, best.InstanceLocation) < 0 {
			best = leaf
		}
	}
	return best
}

// compareLocations orders instance locations token by token, array indexes numerically.
func compareLocations(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] == b[i] {
			continue
		}
		ai, aerr := strconv.Atoi(a[i])
		bi, berr := strconv.Atoi(b[i])
		if aerr == nil && berr == nil {
			return ai - bi
		}
		return strings.Compare(a[i], b[i])
	}
	return len(a) - len(b)
}

// pointer renders an instance location as a JSON pointer (RFC 6901).
func pointer(loc []string) string {
	if len(loc) == 0 {
		return "the top level"
	}
	var b strings.Builder
	for _, tok := range loc {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

func leafMessage(e *jsonschema.ValidationError) string {
	// The validator lists unexpected properties in map order; sort them for a stable reason.
	if k, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
		slices.Sort(k.Properties)
	}
	return e.ErrorKind.LocalizedString(english)
}
