package config

import "testing"

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://app:s3cret@n1:4222,nats://app:s3cret@n2:4222", "nats://app:xxxxx@n1:4222,nats://app:xxxxx@n2:4222"},
		{"clickhouse://writer:pw@ch:9000/vigil", "clickhouse://writer:xxxxx@ch:9000/vigil"},
		{"clickhouse://ch:9000/vigil?username=w&password=pw", "clickhouse://ch:9000/vigil?password=xxxxx&username=w"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
