//! squall-whitebox: look behind the API.
