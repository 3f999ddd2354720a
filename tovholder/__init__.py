"""The composition root: assembles the `tovholder` command from the groups that live
beside what they drive (`server.commands`, `client.cli`) and the end-to-end demo."""
