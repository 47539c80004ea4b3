package store

// policyMigrations are the schema steps of the policy tables (see migrate.go).
var policyMigrations = []migration{}
