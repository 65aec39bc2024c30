//! WHO Child Growth Standards z-scores and Permenkes 2/2020 categories.
