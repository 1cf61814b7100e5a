/** Optimal transport: costs, batched Sinkhorn solvers with diagnostics, detaching. */
export { squaredEuclideanCost } from './cost';
export { withoutGradient } from './detach';
export { SinkhornDiagnostics, SinkhornSolver, SinkhornWarn, marginalErrors } from './diagnostics';
export {
  BalancedSinkhornOptions, DEFAULT_SINKHORN, EpsMode, ExactMarginal, REFERENCE_SINKHORN,
  ReferenceSinkhornOptions, SinkhornOptions, SinkhornResult, sinkhorn,
} from './sinkhorn';
