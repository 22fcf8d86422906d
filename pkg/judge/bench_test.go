package judge

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/pkg/testkit"
)

func BenchmarkParseAnswer(b *testing.B) {
	for _, tc := range []struct{ name, reply string }{
		{"plain", `{"label":"helpful","score":0.85,"explanation":"The answer states the delivery window and cites the policy."}`},
		{"fenced", "Here is my evaluation:\n```json\n{\"label\":\"helpful\",\"score\":0.85,\"explanation\":\"The answer states the delivery window.\"}\n```\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.reply)))
			for b.Loop() {
				if _, err := ParseAnswer(tc.reply); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSampled(b *testing.B) {
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("01JD%022d", i)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(ids[0])))
	i := 0
	for b.Loop() {
		Sampled(ids[i%len(ids)], 0.1)
		i++
	}
}

func BenchmarkCache(b *testing.B) {
	c := NewCache(10_000)
	keys := make([]CacheKey, 20_000)
	for i := range keys {
		keys[i] = CacheKey{Judge: "tone", Version: "v1", Prompt: sha256.Sum256([]byte(fmt.Sprint(i)))}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		if _, ok := c.Get(k); !ok {
			c.Put(k, Answer{Score: 0.5})
		}
		i++
	}
}

// BenchmarkScoreCached is the cost of judging an event whose answer is cached: rendering the
// rubric, hashing the prompt and the lookup; no request.
func BenchmarkScoreCached(b *testing.B) {
	srv := testkit.NewChatServer(b, content(`{"label":"helpful","score":0.9}`))
	j := testJudge(srv.URL)
	j.APIKeyEnv = ""
	r, err := New(j, Options{Cache: NewCache(10)})
	if err != nil {
		b.Fatal(err)
	}
	ev := testEvent(1)
	ev.Output = strings.Repeat("It ships tomorrow. ", 50)
	ctx := context.Background()
	if _, err := r.Score(ctx, ev); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(ev.Input) + len(ev.Output)))
	for b.Loop() {
		if _, err := r.Score(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}
