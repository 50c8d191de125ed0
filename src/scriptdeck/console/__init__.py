"""The web console: a Vue application built by ``make install`` (web/) into static/console/."""
