"""Aid requests, the worker's side: ask for help, agree who may see it, follow the case.

`aid` owns no tables: a request becomes a case the moment it is submitted, so it writes through
`services.cases.operations` and reads through the cases domain's read helpers (access, queries,
feed, labels). `cases` never imports `aid`.
"""
