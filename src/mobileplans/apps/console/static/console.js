// Mobile Plans console. The overview's filter is server-side (?q=): the form works without
// JavaScript (a GET), and htmx asks for /overview/rows as one types (attributes in
// overview.html). No inline script anywhere: the Content-Security-Policy allows this
// origin's files only.
