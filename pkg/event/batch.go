package event

import (
	"fmt"

	"github.com/segmentio/encoding/json"
)

// ScoredBatch is the body of a SCORED message that carries several scored records at once: one
// message per partition per scorer batch instead of one per event, so the bus stores and delivers
// a fraction of the messages.
type ScoredBatch struct {
	Records []Scored `json:"records"`
}

// DecodeScoredBatch parses a batch of scored records strictly and checks each record as
// DecodeScored does; an error names the record ("records[3].series.app"). With alias set the
// records' strings share data's memory (see Decoder.Alias). sizeHint, the number of records the
// producer announced, lets the records be decoded into one array instead of a growing one.
//
// A body in exactly the form the encoder writes is decoded without reflection; any other body
// goes to the strict decoder, so results and errors do not depend on which path ran.
func DecodeScoredBatch(data []byte, alias bool, sizeHint int) ([]Scored, error) {
	return decodeScoredBatch(data, alias, sizeHint, nil)
}

// DecodeScoredBatchInto decodes as DecodeScoredBatch does, into buf's memory: the records it
// returns, and their scores, are valid until the next call with buf. Strings follow alias as
// they do there.
func DecodeScoredBatchInto(buf *ScoredBuffers, data []byte, alias bool, sizeHint int) ([]Scored, error) {
	return decodeScoredBatch(data, alias, sizeHint, buf)
}

func decodeScoredBatch(data []byte, alias bool, sizeHint int, reuse *ScoredBuffers) ([]Scored, error) {
	recs, ok := decodeScoredFast(data, alias, sizeHint, reuse)
	if !ok {
		var err error
		if recs, err = decodeScoredStrict(data, alias, sizeHint); err != nil {
			return nil, err
		}
		if reuse != nil && reuse.DropReasons {
			ClearReasons(recs)
		}
	}
	if len(recs) == 0 {
		return nil, &FieldError{Field: "records", Reason: "required: at least one scored record"}
	}
	for i := range recs {
		if err := recs[i].Validate(); err != nil {
			return nil, prefixFields(fmt.Sprintf("records[%d].", i), err)
		}
	}
	return recs, nil
}

// decodeScoredStrict decodes a batch with the strict reflection decoder, without validating it.
func decodeScoredStrict(data []byte, alias bool, sizeHint int) ([]Scored, error) {
	var b ScoredBatch
	if sizeHint > 0 && sizeHint <= len(data)/64 { // a record takes well over 64 bytes
		b.Records = make([]Scored, 0, sizeHint)
	}
	if err := strictUnmarshal(data, &b, strictFlags(alias)); err != nil {
		return nil, err
	}
	return b.Records, nil
}

// strictFlags are the parse flags for strictUnmarshal: with alias, strings share data's memory.
func strictFlags(alias bool) json.ParseFlags {
	if alias {
		return json.DontCopyString
	}
	return 0
}
