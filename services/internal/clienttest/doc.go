// Package clienttest runs the client snippets in schemas/clients, one per language and
// transport, against a running pipeline and finds each snippet's event in ClickHouse. It has no
// code of its own: everything is in its tests.
package clienttest
