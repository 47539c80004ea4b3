package store

// inboxMigrations are the schema steps of the inbox tables (see migrate.go).
var inboxMigrations = []migration{}
