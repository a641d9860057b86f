"""The styles of a mode's real-space pictures: one vocabulary for the run configuration, maps and movies."""

#: style → what its map and movie draw (``[[maps.modes]] style``)
MAP_STYLES = {
    "in-plane": "Fig. 1: the in-plane magnetization as arrows",
    "out-of-plane": "Fig. 2: M_z beside the induced charge",
}
