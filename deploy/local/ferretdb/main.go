// Command ferretdb runs FerretDB v1 (the MongoDB wire protocol over PostgreSQL) embedded,
// for development and CI machines without Docker or MongoDB.
//
// It exists because `go install github.com/FerretDB/FerretDB/cmd/ferretdb` builds a binary
// that panics at start (missing build/version/version.txt, upstream issue #2982); the
// embeddable package has no such problem. `python -m services.devstack up` builds and runs it.
//
// Flags override the environment, which overrides the defaults:
//
//	-listen-addr     FERRETDB_LISTEN_ADDR      127.0.0.1:27017
//	-postgresql-url  FERRETDB_POSTGRESQL_URL   postgres://postgres@127.0.0.1:5432/ferretdb?pool_max_conns=250
//	-log-level       FERRETDB_LOG_LEVEL        info (debug, info, warn, error)
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// The pool must hold one backend connection per statement of the largest update/delete
// command a client sends: with the default of 50, a 50-statement bulk_write deadlocks.
const defaultPostgreSQLURL = "postgres://postgres@127.0.0.1:5432/ferretdb?pool_max_conns=250"

func main() {
	listenAddr := flag.String("listen-addr", envOr("FERRETDB_LISTEN_ADDR", "127.0.0.1:27017"),
		"TCP address to listen on for MongoDB clients")
	postgreSQLURL := flag.String("postgresql-url", envOr("FERRETDB_POSTGRESQL_URL", defaultPostgreSQLURL),
		"PostgreSQL connection string of the storage database")
	logLevel := flag.String("log-level", envOr("FERRETDB_LOG_LEVEL", "info"),
		"log level: debug, info, warn or error")
	flag.Parse()

	if err := run(*listenAddr, *postgreSQLURL, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

// run serves until SIGINT or SIGTERM, then closes the listener, client connections and the
// PostgreSQL pool before returning, so a stop never leaves half-written state behind.
func run(listenAddr, postgreSQLURL, logLevel string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("bad log level %q: %w", logLevel, err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: listenAddr},
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: postgreSQLURL,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger.Info("serving", "uri", "mongodb://"+listenAddr+"/", "pid", os.Getpid())

	if err = f.Run(ctx); err != nil {
		return err
	}

	logger.Info("stopped")

	return nil
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}

	return fallback
}
