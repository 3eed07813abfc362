"""The Streamlit side shared by the pages: the store handle, language, sidebar, caches, grids and
downloads (``ui``), and each page's set-up and tabs. ``pages/`` holds only the page scripts, because
Streamlit lists every file there on a fresh start."""
