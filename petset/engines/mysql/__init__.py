"""The MySQL engine: MySQLCluster -> a StatefulSet of MariaDB members with managed roles."""
