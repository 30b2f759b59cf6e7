package postgis

// LastChangeSQLs exposes the audit look-ups to the plan test.
var LastChangeSQLs = lastChangeSQLs
