package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/parcelflow/conveyor/config"
	"github.com/parcelflow/conveyor/store"
)

// stateFlags are the flags of every command that reads Conveyor's state
// database: the server config (whose store.dsn names it) or the DSN itself.
type stateFlags struct {
	fs     *flag.FlagSet
	config *string
	db     *string
}

func addStateFlags(fs *flag.FlagSet) stateFlags {
	return stateFlags{
		fs:     fs,
		config: fs.String("config", "conveyor.yml", "server config `FILE`; its store.dsn names the state database"),
		db:     fs.String("db", "", "the state database `DSN` (sqlite://PATH or postgres://…), instead of the server config's"),
	}
}

// open opens the state database named by --db, else by the server config.
// With neither flag given and no conveyor.yml here, it opens the embedded
// default database, the one `conveyor serve` uses out of the box.
func (f stateFlags) open(ctx context.Context) (*store.DB, error) {
	dsn := *f.db
	if dsn == "" && !f.set("config") {
		if _, err := os.Stat(*f.config); os.IsNotExist(err) {
			dsn = store.DefaultDSN
		}
	}
	if dsn == "" {
		cfg, err := config.LoadServer(*f.config, os.LookupEnv)
		if err != nil {
			return nil, fmt.Errorf("invalid server config (or pass --db):\n%w", err)
		}
		dsn = cfg.Store.DSN
	}
	return store.Open(ctx, dsn)
}

func (f stateFlags) set(name string) bool {
	found := false
	f.fs.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	return found
}
