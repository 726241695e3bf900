// memview's programmatic API.
export { Tracker, type TrackerOptions } from './tracker.js';
