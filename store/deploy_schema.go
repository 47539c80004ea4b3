package store

// deployMigrations are the schema steps of the deploy tables (see migrate.go).
var deployMigrations = []migration{}
