package testkit

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// unsetMallocConf removes MALLOC_CONF from the environment until t ends.
func unsetMallocConf(t *testing.T) {
	t.Setenv("MALLOC_CONF", "") // restored after the test
	os.Unsetenv("MALLOC_CONF")
}

func TestServerEnvKeepsAGivenMallocConf(t *testing.T) {
	for _, tc := range []struct {
		name, given, want string
	}{
		{"unset", "", "MALLOC_CONF=" + MallocConf},
		{"set by the user", "narenas:1", "MALLOC_CONF=narenas:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.given == "" {
				unsetMallocConf(t)
			} else {
				t.Setenv("MALLOC_CONF", tc.given)
			}
			var got []string
			for _, kv := range serverEnv() {
				if strings.HasPrefix(kv, "MALLOC_CONF=") {
					got = append(got, kv)
				}
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("MALLOC_CONF entries %q, want just %q", got, tc.want)
			}
		})
	}
}

// The server must start with the allocator settings, and jemalloc must accept every one of them:
// it reports an option it does not know on stderr, which goes to the server's log.
func TestClickHouseRunsWithMallocConf(t *testing.T) {
	unsetMallocConf(t)
	ch, err := StartClickHouse()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Stop()
	environ, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(ch.PID()), "environ"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(strings.Split(string(environ), "\x00"), "MALLOC_CONF="+MallocConf) {
		t.Errorf("clickhouse-server's environment lacks MALLOC_CONF=%s", MallocConf)
	}
	log, err := os.ReadFile(filepath.Join(ch.dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(log, []byte("<jemalloc>")) {
		t.Errorf("jemalloc rejected part of MALLOC_CONF:\n%s", log)
	}
}

// make run starts its ClickHouse from a shell script, which must set the same configuration.
func TestLocalScriptSetsMallocConf(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "deploy", "clickhouse", "local.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(script, []byte("MALLOC_CONF=${MALLOC_CONF:-"+MallocConf+"}")) {
		t.Errorf("deploy/clickhouse/local.sh does not default MALLOC_CONF to %s", MallocConf)
	}
}

// The bench can put its server's data on another filesystem: the server keeps everything under
// the given directory, and Stop removes it.
func TestClickHouseKeepsItsDataUnderTheGivenParent(t *testing.T) {
	parent := t.TempDir()
	ch, err := StartClickHouseIn(parent)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(ch.dir) != parent {
		ch.Stop()
		t.Fatalf("server directory %s, want one in %s", ch.dir, parent)
	}
	for _, name := range []string{"server.log", "data"} {
		if _, err := os.Stat(filepath.Join(ch.dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	ch.Stop()
	if entries, err := os.ReadDir(parent); err != nil || len(entries) != 0 {
		t.Fatalf("after Stop %s holds %d entries (err %v), want none", parent, len(entries), err)
	}
}
