"""The six models of the paper (section 4, Table 3) as plain torch modules. Imports only torch."""
