"""The outreach worker's app: `tovholder client ui`, a web app on 127.0.0.1 over the laptop's own store.

It reads and records through the same `client.laptop.Laptop` and the same payload
builders as the `client` commands (`client.commands`), so every rule is judged once, by
the same code. `desk` holds the unlocked laptop and its lock, `caseload` turns views into
rows, `guards` keeps other sites and other users out, `pages` answers the routes and
`app` puts them together and serves them. Nothing here is loaded by a recording command.
"""
