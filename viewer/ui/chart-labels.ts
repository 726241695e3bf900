// Where the memory chart puts the text it draws on its canvas. Pure, so it is tested without a
// browser. The legend and the range hint are not drawn here: they sit in a row above the chart.

/**
 * Left edge (px) of a label naming a vertical marker at `markerX`: just right of the marker, or
 * just left of it when the right side would run out of the plot, and never outside
 * [plotLeft, plotRight]. A peak at the end of the run gets its label on the left, whole.
 */
export function labelBesideMarker(markerX: number, textWidth: number, plotLeft: number, plotRight: number, gapPx = 3): number {
  const right = markerX + gapPx;
  if (right + textWidth <= plotRight) return Math.max(plotLeft, right);
  const left = markerX - gapPx - textWidth;
  return Math.max(plotLeft, Math.min(plotRight - textWidth, left));
}
