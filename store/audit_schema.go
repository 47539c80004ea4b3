package store

// auditMigrations are the schema steps of the audit tables (see migrate.go).
var auditMigrations = []migration{}
