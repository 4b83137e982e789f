"""Cases: aid requests routed between the union, HRSS and civil affairs (see design/cases.md)."""
