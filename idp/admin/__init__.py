"""The company main-admin area (MISSION.md 2, 3, 8, 11): users, "Felhasználói
jogok beállítása", company settings and the audit log. ``service`` holds the
rules (who may do what), ``views`` the pages; the CLI uses the same service."""
