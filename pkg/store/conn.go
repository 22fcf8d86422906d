package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/vigilhq/vigil/pkg/config"
)

// ParseDSN turns a clickhouse://host:port/database DSN into connection options with the
// settings every vigil connection uses: native protocol, LZ4, and a server-side execution limit
// (a client deadline alone does not stop a query on the server).
func ParseDSN(dsn string) (*clickhouse.Options, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		// The parser's message may quote the DSN, password included.
		return nil, errors.New("parse clickhouse DSN: " + strings.ReplaceAll(err.Error(), dsn, config.Redact(dsn)))
	}
	if opts.Protocol != clickhouse.Native {
		return nil, fmt.Errorf("parse clickhouse DSN: only the native protocol (clickhouse://, port 9000) works on every supported server")
	}
	if opts.Compression == nil {
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	}
	if opts.Settings == nil {
		opts.Settings = clickhouse.Settings{}
	}
	if _, ok := opts.Settings["max_execution_time"]; !ok {
		opts.Settings["max_execution_time"] = 60
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 5 * time.Second
	}
	return opts, nil
}

// ConnOptions are the connection options for the configured ClickHouse: ParseDSN of
// VIGIL_CLICKHOUSE_DSN with the VIGIL_CLICKHOUSE_TLS_* settings applied. Every service and
// command connects through it.
func ConnOptions(c config.Common) (*clickhouse.Options, error) {
	opts, err := ParseDSN(c.ClickHouseDSN)
	if err != nil {
		return nil, err
	}
	tc, err := c.TLS.ClickHouseConfig()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		// skip_verify=true in the DSN keeps its meaning next to the TLS variables.
		if opts.TLS != nil && opts.TLS.InsecureSkipVerify {
			tc.InsecureSkipVerify = true
		}
		opts.TLS = tc
	}
	return opts, nil
}

// MigrateConfigured applies the migrations for the configured deployment: MigrateCluster when
// VIGIL_CLICKHOUSE_CLUSTER names a cluster, Migrate otherwise.
func MigrateConfigured(ctx context.Context, opts *clickhouse.Options, c config.Common, log *slog.Logger) error {
	if c.ClickHouseCluster != "" {
		return MigrateCluster(ctx, opts, c.ClickHouseCluster, log)
	}
	return Migrate(ctx, opts, log)
}

// Open connects to ClickHouse and checks the server answers.
func Open(ctx context.Context, opts *clickhouse.Options) (driver.Conn, error) {
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse: %w", err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ping clickhouse at %v: %w", opts.Addr, err)
	}
	return conn, nil
}

// transientCodes are ClickHouse server error codes that clear up on their own: timeouts, memory
// pressure, too many parts or queries, a table being altered, a replica or keeper hiccup.
var transientCodes = map[int32]bool{
	159: true, // TIMEOUT_EXCEEDED
	164: true, // READONLY
	202: true, // TOO_MANY_SIMULTANEOUS_QUERIES
	203: true, // NO_FREE_CONNECTION
	209: true, // SOCKET_TIMEOUT
	210: true, // NETWORK_ERROR
	241: true, // MEMORY_LIMIT_EXCEEDED
	242: true, // TABLE_IS_READ_ONLY
	252: true, // TOO_MANY_PARTS
	285: true, // TOO_FEW_LIVE_REPLICAS
	319: true, // UNKNOWN_STATUS_OF_INSERT
	425: true, // SYSTEM_ERROR
	999: true, // KEEPER_EXCEPTION
}

// IsPermanent reports whether a ClickHouse error will recur on retry with the same data: a server
// exception about the data or the schema. Connection failures, timeouts and overload are transient.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return !transientCodes[ex.Code]
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return false
}
